/** The simulator's own Prometheus metrics (exchange_sim_*). */
import { Counter, Gauge, type Registry } from '@hotpath/telemetry';

export interface SimMetrics {
  framesSent: Counter<'stream'>;
  framesGenerated: Counter<'stream'>;
  connections: Gauge;
  disconnects: Counter<'reason'>;
  rejectedHandshakes: Counter<'reason'>;
  faults: Counter<'fault'>;
  restRequests: Counter<'endpoint' | 'status'>;
  rejectedRequests: Counter<'reason'>;
  simulatedSeconds: Gauge;
}

export function createSimMetrics(registry: Registry): SimMetrics {
  return {
    framesSent: new Counter({ name: 'exchange_sim_frames_sent_total', help: 'SBE frames sent to clients (one per recipient)', labelNames: ['stream'], registers: [registry] }),
    framesGenerated: new Counter({ name: 'exchange_sim_frames_generated_total', help: 'SBE frames produced by the market', labelNames: ['stream'], registers: [registry] }),
    connections: new Gauge({ name: 'exchange_sim_connections', help: 'Open stream connections', registers: [registry] }),
    disconnects: new Counter({ name: 'exchange_sim_disconnects_total', help: 'Connections closed by the server', labelNames: ['reason'], registers: [registry] }),
    rejectedHandshakes: new Counter({ name: 'exchange_sim_rejected_handshakes_total', help: 'Refused WebSocket handshakes', labelNames: ['reason'], registers: [registry] }),
    faults: new Counter({ name: 'exchange_sim_faults_injected_total', help: 'Injected faults (each dropped frame, failed request, ...)', labelNames: ['fault'], registers: [registry] }),
    restRequests: new Counter({ name: 'exchange_sim_rest_requests_total', help: 'REST requests (endpoint: a served path, or other)', labelNames: ['endpoint', 'status'], registers: [registry] }),
    rejectedRequests: new Counter({
      name: 'exchange_sim_rejected_requests_total',
      help: 'HTTP requests refused (bad URL, malformed request, unknown path, admin auth, oversized body, bad JSON, invalid fault, internal error)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    simulatedSeconds: new Gauge({ name: 'exchange_sim_simulated_seconds', help: 'Simulated time elapsed', registers: [registry] }),
  };
}
