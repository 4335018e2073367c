/**
 * What must exist before the services can start, deployed first: the ECR repository the image is pushed
 * to and the secret holding the Binance API key. Apart from the main stack so that an image can be pushed
 * and the key stored between the two deploys (the ingestor cannot become healthy without either, and a
 * service that never stabilises would hold the main deploy for hours).
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { DeployConfig } from './config.ts';

export interface BaseStackProps extends StackProps {
  config: DeployConfig;
}

export class BaseStack extends Stack {
  readonly repository: ecr.Repository;
  /** The Binance Ed25519 API key (market data only), as the plain secret string; set by the operator. */
  readonly binanceApiKey: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: BaseStackProps) {
    super(scope, id, props);
    const { prefix, imageRepository } = props.config;

    this.repository = new ecr.Repository(this, 'Images', {
      repositoryName: imageRepository,
      // a tag names one image forever: a task definition that says `3f2a9c1` runs what was tested as 3f2a9c1
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.AES_256,
      lifecycleRules: [
        { description: 'untagged layers of interrupted pushes', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(7), rulePriority: 1 },
        { description: 'keep the last 30 images (rollbacks)', tagStatus: ecr.TagStatus.ANY, maxImageCount: 30, rulePriority: 2 },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.binanceApiKey = new secretsmanager.Secret(this, 'BinanceApiKey', {
      secretName: `${prefix}/binance-api-key`,
      description: 'Binance Ed25519 API key with market-data access, read by the ingestor only. Put the real key: aws secretsmanager put-secret-value (deploy/aws/README.md).',
      // a random placeholder: never a usable key, and no key in the template
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
