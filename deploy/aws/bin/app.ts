/**
 * The CDK app: `cdk synth` (no AWS account needed), `cdk deploy HotpathBase`, then `cdk deploy Hotpath`
 * (deploy/aws/README.md). Parameters are CDK context: cdk.json, or -c key=value (lib/config.ts).
 * The stacks are environment-agnostic: `cdk deploy` puts them in the account and region of its profile.
 */
import { App } from 'aws-cdk-lib';
import { BaseStack } from '../lib/base-stack.ts';
import { type DeployConfig, DeployConfigError, loadDeployConfig } from '../lib/config.ts';
import { HotpathStack } from '../lib/stack.ts';

const app = new App();
let config: DeployConfig;
try {
  config = loadDeployConfig(app.node.getAllContext() as Record<string, unknown>);
} catch (err) {
  if (!(err instanceof DeployConfigError)) throw err;
  // one clean message naming the keys, not a stack trace through the CDK
  console.error(err.message);
  process.exit(2);
}
const base = new BaseStack(app, 'HotpathBase', { config, description: 'hotpath: ECR repository and the Binance API key secret (deploy first)' });
new HotpathStack(app, 'Hotpath', {
  config,
  repository: base.repository,
  binanceApiKey: base.binanceApiKey,
  description: 'hotpath: Binance SBE → Kinesis → Redis features → 10 s predictions (ECS Fargate, ElastiCache, AMP)',
});
app.synth();
