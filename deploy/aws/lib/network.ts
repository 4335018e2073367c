/**
 * The VPC and the security groups, in one place so the whole reachability picture reads at once:
 *
 *   internet ──443/80──► ALB ──9092──► inference ──6379──► Redis ◄──6379── aggregator
 *                                        └──9090/9091 (/health for the status page)──► ingestor, aggregator
 *   every task ──443──► AWS APIs (NAT or endpoints); ingestor ──9443/443──► Binance
 *
 * Only the ALB takes traffic from outside the VPC. Tasks run in private subnets without public IPs,
 * Redis in isolated subnets (no route out at all). No group allows all outbound traffic.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { DeployConfig } from './config.ts';

export const PORTS = { ingestor: 9090, aggregator: 9091, inference: 9092, redis: 6379, binanceStream: 9443 } as const;

export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly alb: ec2.SecurityGroup;
  readonly ingestor: ec2.SecurityGroup;
  readonly aggregator: ec2.SecurityGroup;
  readonly inference: ec2.SecurityGroup;
  readonly redis: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, config: DeployConfig) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(config.vpcCidr),
      // an environment-agnostic stack (synth without an account) knows two AZs; two are what failover needs
      maxAzs: 2,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // the gateway endpoint is free and keeps ECR's image layers (S3) off the NAT
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });

    const group = (name: string, description: string) => new ec2.SecurityGroup(this, name, { vpc: this.vpc, description, allowAllOutbound: false });
    this.alb = group('AlbSg', 'hotpath ALB: the only public entry');
    this.inference = group('InferenceSg', 'hotpath inference tasks');
    this.aggregator = group('AggregatorSg', 'hotpath aggregator tasks');
    this.ingestor = group('IngestorSg', 'hotpath ingestor tasks');
    this.redis = group('RedisSg', 'hotpath ElastiCache Redis');

    const listenerPorts = config.certificateArn === undefined ? [80] : [443, 80];
    for (const cidr of config.albIngressCidrs) {
      for (const port of listenerPorts)
        this.alb.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(port), `viewers (${port === 80 && config.certificateArn !== undefined ? 'redirected to 443' : 'API and page'})`);
    }
    this.alb.connections.allowTo(this.inference, ec2.Port.tcp(PORTS.inference), 'ALB to inference API and page');

    const redisPort = ec2.Port.tcp(PORTS.redis);
    this.aggregator.connections.allowTo(this.redis, redisPort, 'aggregator to Redis (TLS)');
    this.inference.connections.allowTo(this.redis, redisPort, 'inference to Redis (TLS)');
    // the live page's status: inference asks each service's /health (INFERENCE_STATUS_PEERS)
    this.inference.connections.allowTo(this.ingestor, ec2.Port.tcp(PORTS.ingestor), 'inference status page to ingestor /health');
    this.inference.connections.allowTo(this.aggregator, ec2.Port.tcp(PORTS.aggregator), 'inference status page to aggregator /health');

    // AWS APIs (Kinesis, ECR, Logs, Secrets Manager, AMP, X-Ray) are HTTPS: through the NAT or the endpoints
    const https = ec2.Port.tcp(443);
    for (const sg of [this.ingestor, this.aggregator, this.inference]) sg.addEgressRule(ec2.Peer.anyIpv4(), https, 'AWS APIs over HTTPS');
    this.ingestor.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(PORTS.binanceStream), 'Binance SBE WebSocket (wss, port 9443)');

    if (config.vpcEndpoints) {
      // each interface endpoint costs ~$7.30/month per AZ: worth it when the NAT's $0.045/GB is the larger bill
      const endpoints = {
        Kinesis: ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
        EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
        EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
        Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        Prometheus: ec2.InterfaceVpcEndpointAwsService.PROMETHEUS_WORKSPACES,
        // the collectors' spans, when tracing is on
        ...(config.tracesSampleRatio > 0 ? { XRay: ec2.InterfaceVpcEndpointAwsService.XRAY } : {}),
      };
      const endpointSg = group('EndpointSg', 'hotpath interface endpoints');
      for (const sg of [this.ingestor, this.aggregator, this.inference]) sg.connections.allowTo(endpointSg, https, 'tasks to interface endpoints');
      for (const [name, service] of Object.entries(endpoints)) {
        this.vpc.addInterfaceEndpoint(name, { service, securityGroups: [endpointSg], subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, open: false });
      }
    }
  }
}
