/** Reading the simulator's /metrics (Prometheus text) in tests. */

/** The value of one metric series in Prometheus text, 0 when absent. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** The simulator's /metrics, fetched over HTTP as a scraper would. */
export async function metricsText(restBase: string): Promise<string> {
  return (await fetch(`${restBase}/metrics`)).text();
}
