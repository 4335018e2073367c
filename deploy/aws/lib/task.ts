/**
 * One service's Fargate task, the same shape for all three:
 *
 * - `secrets` (init container, exits): ECS can hand a secret to a container only as an environment
 *   variable; the services read theirs from files (REDIS_PASSWORD_FILE, INGESTOR_API_KEY_FILE), as in
 *   compose, so that no secret sits in the service's environment. This container gets the secrets, writes
 *   each to a task-local volume readable by the service's user alone (uid 1000, `node`, mode 0400), and exits.
 * - the service (essential): read-only root filesystem, the secrets volume read-only, a writable /tmp;
 *   started only after `secrets` exited 0. Logs to its own CloudWatch log group.
 * - `collector` (ADOT, not essential): scrapes the service's /metrics into Amazon Managed Prometheus and
 *   forwards the spans the service sends it (OTLP/HTTP on the task's loopback) to AWS X-Ray.
 *
 * Each service gets its own task role (what the code may call) and execution role (what ECS needs to
 * start it: pull from ECR, read this service's secrets, write its logs).
 */
import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeployConfig, ServiceName } from './config.ts';
import { collectorConfig, OTLP_ENDPOINT_URL } from './collector.ts';
import { PORTS } from './network.ts';

/** Where the init container puts the secrets, as the service sees them. */
export const SECRETS_DIR = '/run/secrets/hotpath';
/** The image's user (node:24-bookworm-slim's `node`): the owner of the secret files. */
const SERVICE_UID = 1000;

/** Run by the init container with `node -e`: env var → file, nothing printed but the variable's name on failure. */
const WRITE_SECRETS = [
  "const fs = require('node:fs');",
  'for (const [name, path] of Object.entries(JSON.parse(process.env.HOTPATH_SECRET_FILES))) {',
  '  const value = process.env[name];',
  "  if (!value) { console.error('secret ' + name + ' is empty or missing'); process.exit(1); }",
  `  fs.writeFileSync(path, value.trim(), { mode: 0o400 }); fs.chownSync(path, ${SERVICE_UID}, ${SERVICE_UID});`,
  '}',
  // the scratch volume for the service's /tmp (its root filesystem is read-only)
  "fs.chmodSync('/scratch', 0o1777);",
].join('\n');

export interface ServiceSecret {
  /** File name under SECRETS_DIR. */
  file: string;
  secret: ecs.Secret;
}

export interface ServiceTaskProps {
  config: DeployConfig;
  service: ServiceName;
  /** The ECS service's name (`ingestor-btcusdt`, `aggregator`): names the family, roles and log group. */
  name: string;
  repository: ecr.IRepository;
  /** The service's own settings (the secret files' paths included); HEALTH_URL and LOG_LEVEL are added. */
  environment: Record<string, string>;
  secrets: ServiceSecret[];
  /** Amazon Managed Prometheus: where the collector writes, and the workspace ARN it may write to. */
  remoteWriteUrl: string;
  workspaceArn: string;
  logRetention: logs.RetentionDays;
}

export class ServiceTask extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  /** What the service's code may call: statements are added by the caller, one service's needs each. */
  readonly taskRole: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly port: number;

  constructor(scope: Construct, id: string, props: ServiceTaskProps) {
    super(scope, id);
    const { config, service, name } = props;
    this.port = PORTS[service];
    const size = config.taskSizes[service];
    const image = ecs.ContainerImage.fromEcrRepository(props.repository, config.imageTag);

    this.taskRole = new iam.Role(this, 'TaskRole', {
      roleName: `${config.prefix}-${name}-task`,
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `hotpath ${name}: what its code may call`,
    });
    this.taskRole.addToPolicy(new iam.PolicyStatement({ sid: 'RemoteWriteMetrics', actions: ['aps:RemoteWrite'], resources: [props.workspaceArn] }));
    const traces = config.tracesSampleRatio > 0;
    if (traces) {
      // the collector's awsxray exporter: PutTraceSegments only (its telemetry records are off by default,
      // and sampling is decided in the services, not by X-Ray's sampling rules). X-Ray's data-plane actions
      // take no resource ARN, so `*` is the only scope AWS offers (test/security.test.ts allows exactly this)
      this.taskRole.addToPolicy(new iam.PolicyStatement({ sid: 'PutTraces', actions: ['xray:PutTraceSegments'], resources: ['*'] }));
    }

    // ECS's side: pull the image, read this service's secrets, write its logs (CDK adds exactly those grants)
    const executionRole = new iam.Role(this, 'ExecutionRole', {
      roleName: `${config.prefix}-${name}-exec`,
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `hotpath ${name}: what ECS needs to start its tasks`,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', { logGroupName: `/${config.prefix}/ecs/${name}`, retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const logging = (prefix: string) => ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: prefix, mode: ecs.AwsLogDriverMode.NON_BLOCKING, maxBufferSize: Size.mebibytes(4) });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      family: `${config.prefix}-${name}`,
      cpu: size.cpu,
      memoryLimitMiB: size.memoryMiB,
      taskRole: this.taskRole,
      executionRole,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: config.cpuArchitecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      },
      volumes: [{ name: 'secrets' }, { name: 'scratch' }],
    });

    const secretFiles = Object.fromEntries(props.secrets.map((s, i) => [`HOTPATH_SECRET_${i}`, `${SECRETS_DIR}/${s.file}`]));
    const init = this.taskDefinition.addContainer('secrets', {
      containerName: 'secrets',
      image,
      essential: false,
      // root, only to hand the files to the service's user; it runs one fixed script and exits
      user: '0',
      command: ['node', '-e', WRITE_SECRETS],
      environment: { HOTPATH_SECRET_FILES: JSON.stringify(secretFiles) },
      secrets: Object.fromEntries(props.secrets.map((s, i) => [`HOTPATH_SECRET_${i}`, s.secret])),
      readonlyRootFilesystem: true,
      memoryReservationMiB: 64,
      logging: logging('secrets'),
    });
    init.addMountPoints({ sourceVolume: 'secrets', containerPath: SECRETS_DIR, readOnly: false }, { sourceVolume: 'scratch', containerPath: '/scratch', readOnly: false });

    const healthUrl = `http://127.0.0.1:${this.port}/ready`;
    this.container = this.taskDefinition.addContainer(service, {
      containerName: service,
      image,
      essential: true,
      command: ['node', `apps/${service}/bin/start.js`],
      environment: {
        ...props.environment,
        HEALTH_URL: healthUrl,
        LOG_LEVEL: 'info',
        NODE_ENV: 'production',
        // spans to the collector beside it (docs/tracing.md); OTEL_SERVICE_NAME stays the service's own name
        ...(traces ? { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_ENDPOINT_URL, OTEL_TRACES_SAMPLER_ARG: String(config.tracesSampleRatio) } : {}),
      },
      portMappings: [{ containerPort: this.port, name: service, protocol: ecs.Protocol.TCP }],
      readonlyRootFilesystem: true,
      // liveness, not health: /ready answers while the process serves. Its /health (degraded, a dependency
      // down) goes to alerts and the status page: replacing the task would not bring Redis or Binance back.
      healthCheck: {
        command: ['CMD', 'node', '-e', 'fetch(process.env.HEALTH_URL, { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))'],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 4,
        startPeriod: Duration.seconds(60),
      },
      // SIGTERM first: each service flushes and hands back its leases within its stop timeout (5 s)
      stopTimeout: Duration.seconds(30),
      logging: logging(service),
    });
    this.container.addMountPoints({ sourceVolume: 'secrets', containerPath: SECRETS_DIR, readOnly: true }, { sourceVolume: 'scratch', containerPath: '/tmp', readOnly: false });
    this.container.addContainerDependencies({ container: init, condition: ecs.ContainerDependencyCondition.SUCCESS });

    const collector = this.taskDefinition.addContainer('collector', {
      containerName: 'collector',
      image: ecs.ContainerImage.fromRegistry(config.adotImage),
      // metrics lost is an alert (PredictionsAbsent, absent series), never a reason to stop the service; spans
      // it cannot take are dropped and counted by the service (tracing_spans_dropped_total), never waited for
      essential: false,
      // ADOT reads its configuration from AOT_CONFIG_CONTENT when set
      environment: { AOT_CONFIG_CONTENT: collectorConfig(service, this.port, { traces }), AMP_REMOTE_WRITE_URL: props.remoteWriteUrl, AWS_REGION: Stack.of(this).region },
      memoryReservationMiB: 128,
      readonlyRootFilesystem: true,
      logging: logging('collector'),
    });
    collector.addContainerDependencies({ container: this.container, condition: ecs.ContainerDependencyCondition.START });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'CloudFormation-Validate::E1029',
      reason: "the collector configuration's ${env:…} is the OpenTelemetry collector's own environment syntax, not a CloudFormation parameter",
    });
  }
}
