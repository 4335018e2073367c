/** Inference metrics: the monitoring spec's names and buckets (inference and business sections), plus schedule and model-lifecycle counters, and the economics of graded predictions. */
import { CALL_SETS, EXECUTIONS, type Economics } from '@hotpath/model';
import { Counter, Gauge, Histogram, createStageLatency, type Registry } from '@hotpath/telemetry';

export type InferenceMetrics = ReturnType<typeof createInferenceMetrics>;

export function createInferenceMetrics(registry: Registry) {
  const registers = [registry];
  // the newest economics per symbol and predictor, put into the gauges when scraped (see recordEconomics)
  const economicsPending = new Map<string, { symbol: string; predictor: 'model' | 'baseline'; e: Economics | null }>();
  const economics = economicsGauges(registers, () => {
    for (const { symbol, predictor, e } of economicsPending.values()) applyEconomics(economics, symbol, predictor, e);
    economicsPending.clear();
  });
  return {
    economicsPending,
    totalLatency: new Histogram({
      name: 'inference_total_latency_seconds',
      help: 'Tick boundary → prediction written (claim + read, checks, model, write)',
      labelNames: ['symbol'],
      buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
      registers,
    }),
    redisRead: new Histogram({
      name: 'inference_redis_read_duration_seconds',
      help: 'The tick’s one Redis round trip: claim + feature vector',
      labelNames: ['symbol'],
      buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02],
      registers,
    }),
    modelDuration: new Histogram({ name: 'inference_model_prediction_duration_seconds', help: 'One onnxruntime run', buckets: [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1], registers }),
    modelBatch: new Histogram({
      name: 'inference_model_batch_size',
      help: 'Symbols whose model runs went as one onnxruntime call (one per tick when batched)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    }),
    predictions: new Counter({ name: 'inference_predictions_total', help: 'Predictions written by this replica (fallbacks included)', labelNames: ['symbol', 'fallback'], registers }),
    featureAge: new Histogram({
      name: 'inference_feature_age_seconds',
      help: 'Wall clock minus the feature vector’s event time, at read',
      labelNames: ['symbol'],
      buckets: [0.5, 1, 2, 3, 5, 10, 30],
      registers,
    }),
    completeness: new Histogram({
      name: 'inference_feature_completeness',
      help: 'Share of finite features in the vector read',
      labelNames: ['symbol'],
      buckets: [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0],
      registers,
    }),
    confidence: new Histogram({ name: 'inference_confidence_score', help: 'Confidence of predictions written', buckets: [0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0], registers }),
    fallbacks: new Counter({ name: 'inference_fallback_predictions_total', help: 'Fallback predictions by reason', labelNames: ['reason'], registers }),
    ticks: new Counter({
      name: 'inference_ticks_total',
      help: 'Per symbol and tick, what this replica did: predicted, taken (another replica claimed), done (already written), missed (no prediction possible), refused (write lost a race)',
      labelNames: ['symbol', 'outcome'],
      registers,
    }),
    missed: new Counter({ name: 'inference_ticks_missed_total', help: 'Ticks with no prediction at all, by reason', labelNames: ['symbol', 'reason'], registers }),
    skipped: new Counter({
      name: 'inference_ticks_skipped_total',
      help: 'Tick boundaries not run: overlap (previous tick still running) or late (process stalled past the boundary)',
      labelNames: ['reason'],
      registers,
    }),
    jitter: new Histogram({
      name: 'inference_tick_jitter_seconds',
      help: 'How late a tick started after its wall-clock boundary',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
      registers,
    }),
    redisErrors: new Counter({ name: 'inference_redis_errors_total', help: 'Failed Redis commands by operation', labelNames: ['operation'], registers }),
    redisEvents: new Counter({
      name: 'inference_redis_connection_events_total',
      help: 'Redis client connection events (command client and subscriber): error, node_error (a cluster node failed), node_added, node_removed, reconnecting, ready',
      labelNames: ['event'],
      registers,
    }),
    slotsMoved: new Counter({
      name: 'inference_redis_cluster_slots_moved_total',
      help: 'Cluster slots whose master changed in the client slot maps (a failover, a slot migration: MOVED)',
      registers,
    }),
    redisRefused: new Counter({
      name: 'inference_redis_refused_total',
      help: 'Values read from Redis and refused as malformed, by source: push, latest, history, vector, model_pointer',
      labelNames: ['source'],
      registers,
    }),
    wsRefused: new Counter({ name: 'inference_ws_refused_total', help: 'WebSocket subscribers refused (too_many) or dropped (too_slow)', labelNames: ['reason'], registers }),
    modelInfo: new Gauge({ name: 'inference_model_info', help: '1 for the model serving now', labelNames: ['version'], registers }),
    modelLoads: new Counter({ name: 'inference_model_loads_total', help: 'Model load attempts by outcome (ok or the refusal code)', labelNames: ['outcome'], registers }),
    modelRollbacks: new Counter({ name: 'inference_model_rollbacks_total', help: 'Swapped-in models replaced by the previous one after failing', registers }),
    graded: new Counter({
      name: 'inference_graded_predictions_total',
      help: 'Predictions compared with the realized mid, or not gradable (no fresh mid at the horizon)',
      labelNames: ['symbol', 'outcome'],
      registers,
    }),
    directionalAccuracy: new Histogram({
      name: 'model_directional_accuracy',
      help: 'Rolling directional accuracy (non-zero moves), observed at each grading',
      labelNames: ['symbol', 'predictor'],
      buckets: [0.45, 0.5, 0.55, 0.6, 0.65, 0.7],
      registers,
    }),
    meanAbsoluteError: new Histogram({
      name: 'model_mean_absolute_error',
      help: 'Rolling mean absolute error of the predicted price, USD',
      labelNames: ['symbol', 'predictor'],
      buckets: [10, 25, 50, 100, 200, 500],
      registers,
    }),
    correlation: new Histogram({
      name: 'model_prediction_correlation',
      help: 'Rolling correlation of predicted and realized returns',
      labelNames: ['symbol', 'predictor'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
      registers,
    }),
    calibration: new Histogram({
      name: 'model_confidence_calibration',
      help: 'Rolling 1 − |mean confidence − hit rate|',
      labelNames: ['symbol', 'predictor'],
      buckets: [0.7, 0.8, 0.85, 0.9, 0.95, 0.98],
      registers,
    }),
    accuracyGauge: new Gauge({
      name: 'inference_rolling_accuracy',
      help: 'Rolling figures now, by predictor and figure (directional_accuracy, mae_usd, correlation, calibration, n)',
      labelNames: ['symbol', 'predictor', 'figure'],
      registers,
    }),
    ...economics,
    predictedPrice: new Gauge({
      name: 'inference_predicted_price',
      help: 'Price predicted by the latest prediction for its target time (dashboards compare it, 10 s later, with inference_mid_price)',
      labelNames: ['symbol'],
      registers,
    }),
    midPrice: new Gauge({ name: 'inference_mid_price', help: 'Mid of the feature vector read at the latest tick', labelNames: ['symbol'], registers }),
    stages: createStageLatency(registry),
    wsClients: new Gauge({ name: 'inference_ws_clients', help: 'WebSocket subscribers', registers }),
    // anomaly flags (docs/anomalies.md): every replica judges every tick's vector, so each one's series are the symbol's
    anomalyEvents: new Counter({
      name: 'anomaly_events_total',
      help: 'Anomalies that started (rising edge: the kind fires on a tick and did not on the symbol’s previous one), by symbol and kind',
      labelNames: ['symbol', 'kind'],
      registers,
    }),
    anomalyActive: new Gauge({ name: 'anomaly_active', help: '1 while the kind fires on the symbol’s latest tick, else 0', labelNames: ['symbol', 'kind'], registers }),
    anomalyRefused: new Counter({
      name: 'anomaly_inputs_refused_total',
      help: 'Tick inputs the anomaly detector did not judge, by kind and problem (non_finite, out_of_range): never fired on',
      labelNames: ['kind', 'problem'],
      registers,
    }),
  };
}

/** Labels of the economics gauges: predictor (model | baseline), execution (taker | maker), calls (all | strongest | rule). */
const CALL_LABELS = ['symbol', 'predictor', 'execution', 'calls'] as const;

/** `flush`: run before any of them is read (each gauge's collect), so a scrape sees the newest figures. */
function economicsGauges(registers: Registry[], flush: () => void) {
  const gauge = (name: string, help: string, labelNames: readonly string[] = CALL_LABELS) => new Gauge({ name, help, labelNames: [...labelNames], registers, collect: flush });
  return {
    netEdge: gauge(
      'inference_net_edge_bps',
      'Rolling realized P&L per call after costs, bps: direction × realized return − (half the spread at the call, if taking, + the fee); calls = all, the strongest by confidence, or the rule’s trades',
    ),
    grossEdge: gauge('inference_gross_edge_bps', 'Rolling realized P&L per call at mid, before costs, bps'),
    predictedEdge: gauge('inference_predicted_edge_bps', 'Rolling mean of |predicted return| − cost per call, bps: the edge the predictor claims after costs'),
    breakEvenFee: gauge('inference_break_even_fee_bps', 'Fee per side at which the calls would net zero, bps (gross per call − the mean half-spread paid)'),
    hitRate: gauge('inference_call_hit_rate', 'Share of calls whose realized move went the called way (a zero move is a miss)'),
    calls: gauge('inference_calls', 'Calls in the rolling window (for calls="rule": the trades the rule made)'),
    pnlTotal: gauge('inference_pnl_window_bps', 'Total P&L of the calls in the rolling window, bps of notional per call summed; basis = gross (at mid) or net (after costs)', [
      ...CALL_LABELS,
      'basis',
    ]),
    tradingCost: gauge('inference_trading_cost_bps', 'Mean cost of one call over the rolling window, bps: half the spread + the taker fee, or the maker fee', ['symbol', 'predictor', 'execution']),
  };
}

/**
 * Records one predictor's rolling economics for `symbol`. The gauges are set when scraped, from the newest figures
 * recorded: setting their ~40 labelled series at every graded prediction was, at 200 symbols, about a fifth of
 * inference's CPU (bench:scale's profile), for values read every 15 s.
 */
export function recordEconomics(m: InferenceMetrics, symbol: string, predictor: 'model' | 'baseline', e: Economics | null): void {
  m.economicsPending.set(`${symbol}\u0000${predictor}`, { symbol, predictor, e });
}

/** Sets the economics gauges for one predictor from its rolling figures; a figure with no value (no calls) removes its series rather than leaving a stale one. */
function applyEconomics(m: ReturnType<typeof economicsGauges>, symbol: string, predictor: 'model' | 'baseline', e: Economics | null): void {
  for (const execution of EXECUTIONS) {
    const set = (g: Gauge, labels: Record<string, string>, v: number | null | undefined): void => {
      if (v === null || v === undefined || !Number.isFinite(v)) g.remove(labels);
      else g.set(labels, v);
    };
    set(m.tradingCost, { symbol, predictor, execution }, e?.[execution].meanCostBps);
    for (const calls of CALL_SETS) {
      const f = e?.[execution][calls];
      const labels = { symbol, predictor, execution, calls };
      set(m.netEdge, labels, f?.netBpsPerCall);
      set(m.grossEdge, labels, f?.grossBpsPerCall);
      set(m.predictedEdge, labels, f?.predictedEdgeBps);
      set(m.breakEvenFee, labels, f?.breakEvenFeeBps);
      set(m.hitRate, labels, f?.hitRate);
      set(m.calls, labels, f?.calls ?? null);
      set(m.pnlTotal, { ...labels, basis: 'gross' }, f?.grossBpsTotal);
      set(m.pnlTotal, { ...labels, basis: 'net' }, f?.netBpsTotal);
    }
  }
}
