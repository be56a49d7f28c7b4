/**
 * State of the endpoints list page and of one endpoint's page, apart from any view: the
 * endpoint, its request timeline per deployment, drift per feature, and for contributors its
 * log, keys (never shown: copied), the traffic editor, a new deployment and start/stop; the
 * test box.  Everything goes through `requestAPI`; the server's refusals are kept verbatim.
 */

import { copyText } from '../clipboard';
import { ActingModel } from '../fetching';
import { errorMessage, query, requestAPI } from '../request';
import { IEndpoint, IEndpointMetrics, Role } from '../tokens';
import { canChange, fetchRole } from './role';

/** One bucket of `GET endpoints/NAME/metrics?buckets=N`: its start (ms), requests, errors, latency (ms). */
export interface ITimelinePoint {
  t: number;
  count: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface IMetricsTimeline extends IEndpointMetrics {
  timeline: { bucket_s: number; deployments: Record<string, ITimelinePoint[]> };
}

export interface IDriftFeature {
  name: string;
  psi: number | null;
  mean_shift_std: number | null;
  verdict: string;
}

/** One deployment of `GET endpoints/NAME/drift`: a verdict per feature, or why there is none. */
export interface IDriftDeployment {
  model: string;
  samples: number;
  skipped: number;
  verdict: string;
  psi_max: number | null;
  features: IDriftFeature[];
  message: string | null;
}

export interface IDrift {
  endpoint: string;
  since_s: number;
  sample_rate: number;
  deployments: Record<string, IDriftDeployment>;
}

export interface IKeys {
  primary: string;
  secondary: string;
}

/** The windows the charts offer (seconds back from now). */
export const WINDOWS: Array<{ label: string; since: number }> = [
  { label: 'last 5 minutes', since: 300 },
  { label: 'last 15 minutes', since: 900 },
  { label: 'last hour', since: 3600 },
  { label: 'last 6 hours', since: 21600 },
  { label: 'last 24 hours', since: 86400 }
];
/** Buckets a chart's window is cut into (fewer for a short window: the server keeps 10 s buckets). */
export const BUCKETS = 60;
/** The shortest bucket the server keeps, in seconds. */
const STORED_BUCKET_S = 10;
/** Lines of the endpoint's log shown. */
export const LOG_LINES = 200;

/** Where the error of each part the page fetches on its own is kept. */
type PartError = 'metricsError' | 'driftError' | 'logsError' | 'keysError';

export class EndpointPageModel extends ActingModel {
  constructor(readonly name: string) {
    super();
  }

  endpoint: IEndpoint | null = null;
  metrics: IMetricsTimeline | null = null;
  metricsError: string | null = null;
  drift: IDrift | null = null;
  driftError: string | null = null;
  logs: string | null = null;
  logsError: string | null = null;
  keys: IKeys | null = null;
  keysError: string | null = null;
  /** Which key was just copied (for the button's feedback). */
  copied: keyof IKeys | null = null;
  role: Role | null = null;
  roleKnown = false;
  since = 3600;
  /** The traffic editor's numbers while being edited (null: showing the endpoint's split). */
  trafficDraft: Record<string, string> | null = null;
  trafficError: string | null = null;
  /** The last refusal of a new deployment or of a deployment's removal, verbatim (start/stop's: `actionError`). */
  deploymentError: string | null = null;
  test = { input: '', deployment: '', busy: false, output: null as string | null, error: null as string | null };
  /** Whether the test box is filled (from the scoring script's example once the endpoint is known; then the user's). */
  testFilled = false;
  /** Whether the serving deployment's script says what a request looks like (else the box starts as `{}`). */
  testHasExample = false;

  get canChange(): boolean {
    return canChange(this.role);
  }

  /** The traffic editor's numbers: the draft, else the endpoint's split. */
  get traffic(): Record<string, string> {
    if (this.trafficDraft) {
      return this.trafficDraft;
    }
    return Object.fromEntries((this.endpoint?.deployments ?? []).map(d => [d.name, String(d.traffic)]));
  }

  /** The sum of the traffic editor's numbers (NaN when one is not a whole number). */
  get trafficSum(): number {
    return Object.values(this.traffic).reduce((sum, v) => sum + (/^\d+$/.test(v.trim()) ? Number(v) : NaN), 0);
  }

  /** Everything the page shows (the keys once: they change only when regenerated here). */
  async refresh(): Promise<void> {
    if (!this.roleKnown) {
      this.role = await fetchRole();
      this.roleKnown = true;
    }
    const found = await this.fetching(async () => {
      this.endpoint = await requestAPI<IEndpoint>(`endpoints/${encodeURIComponent(this.name)}`);
    });
    if (!found) {
      return; // e.g. deleted meanwhile: its error says so, and there is nothing else to read
    }
    this.fillTest();
    await Promise.all([
      this.loadMetrics(),
      this.loadDrift(),
      this.canChange ? this.loadLogs() : null,
      this.canChange && !this.keys ? this.loadKeys() : null
    ]);
  }

  private url(part: string, params: Record<string, number> = {}): string {
    return `endpoints/${encodeURIComponent(this.name)}/${part}${query(params)}`;
  }

  /**
   * Fetch one part of the page: `keep` its reply and clear its error, or keep the error verbatim
   * in `error` (the last good reply stays shown beside it).
   */
  private async load<T>(path: string, keep: (reply: T) => void, error: PartError): Promise<void> {
    try {
      keep(await requestAPI<T>(path));
      this[error] = null;
    } catch (reason) {
      this[error] = errorMessage(reason);
    }
    this.emit();
  }

  loadMetrics(): Promise<void> {
    const buckets = Math.max(1, Math.min(BUCKETS, Math.floor(this.since / STORED_BUCKET_S)));
    const path = this.url('metrics', { since: this.since, buckets });
    return this.load<IMetricsTimeline>(path, reply => (this.metrics = reply), 'metricsError');
  }

  loadDrift(): Promise<void> {
    return this.load<IDrift>(this.url('drift', { since: this.since }), reply => (this.drift = reply), 'driftError');
  }

  loadLogs(): Promise<void> {
    return this.load<{ text: string }>(this.url('logs', { tail: LOG_LINES }), reply => (this.logs = reply.text), 'logsError');
  }

  loadKeys(): Promise<void> {
    return this.load<IKeys>(this.url('keys'), reply => (this.keys = reply), 'keysError');
  }

  /** Show another window in the charts and the drift table. */
  setWindow(since: number): void {
    this.since = since;
    this.emit();
    void this.loadMetrics();
    void this.loadDrift();
  }

  /** Copy a key to the clipboard: it is never shown. */
  async copyKey(which: keyof IKeys): Promise<void> {
    if (!this.keys) {
      return;
    }
    try {
      await copyText(this.keys[which]);
      this.copied = which;
      this.keysError = null;
    } catch (error) {
      this.keysError = errorMessage(error);
    }
    this.emit();
  }

  /** Replace a key (clients of the other one keep working). */
  async regenerateKey(which: keyof IKeys): Promise<void> {
    try {
      this.keys = await requestAPI<IKeys>(this.url('keys'), { method: 'POST', body: JSON.stringify({ key: which }) });
      this.keysError = null;
      this.copied = null;
    } catch (error) {
      this.keysError = errorMessage(error);
    }
    this.emit();
  }

  setTraffic(deployment: string, value: string): void {
    this.trafficDraft = { ...this.traffic, [deployment]: value };
    this.trafficError = null;
    this.emit();
  }

  resetTraffic(): void {
    this.trafficDraft = null;
    this.trafficError = null;
    this.emit();
  }

  /** Send the editor's split (whole percents summing to 100); the server's refusal verbatim. */
  async applyTraffic(): Promise<void> {
    const shares = Object.fromEntries(Object.entries(this.traffic).map(([d, v]) => [d, Number(v)]));
    this.busy = true;
    this.emit();
    try {
      this.endpoint = await requestAPI<IEndpoint>(this.url('traffic'), { method: 'PUT', body: JSON.stringify(shares) });
      this.trafficDraft = null;
      this.trafficError = null;
    } catch (error) {
      this.trafficError = errorMessage(error);
    }
    this.busy = false;
    this.emit();
  }

  /** Add (or replace) a deployment, taking no traffic until the editor gives it some. */
  addDeployment(deployment: string, model: string, script: string): Promise<boolean> {
    return this.changeDeployments(() =>
      requestAPI(this.url(`deployments/${encodeURIComponent(deployment)}`), {
        method: 'PUT',
        body: JSON.stringify({ model, script })
      })
    );
  }

  removeDeployment(deployment: string): Promise<boolean> {
    return this.changeDeployments(() =>
      requestAPI(this.url(`deployments/${encodeURIComponent(deployment)}`), { method: 'DELETE' })
    );
  }

  /** Start a stopped endpoint (answers at once) or stop it. */
  startStop(action: 'start' | 'stop'): Promise<boolean> {
    this.deploymentError = null;
    return this.act(() => requestAPI(this.url(action), { method: 'POST' }));
  }

  /** Start the test box from the example of the deployment taking the most traffic, else `{}` (once). */
  private fillTest(): void {
    const deps = this.endpoint?.deployments ?? [];
    if (this.testFilled || deps.length === 0) {
      return;
    }
    const serving = [...deps].sort((a, b) => b.traffic - a.traffic)[0];
    const example = serving.input_example;
    this.testHasExample = example !== null && example !== undefined;
    this.test.input = this.testHasExample ? JSON.stringify(example) : '{}';
    this.testFilled = true;
  }

  setTest(change: Partial<EndpointPageModel['test']>): void {
    Object.assign(this.test, change);
    this.emit();
  }

  /** Send the test box's JSON (to one deployment, or by the traffic split); its answer or the error verbatim. */
  async invoke(): Promise<void> {
    const test = this.test;
    test.busy = true;
    test.error = null;
    test.output = null;
    this.emit();
    try {
      const deployment = test.deployment ? `?deployment=${encodeURIComponent(test.deployment)}` : '';
      const reply = await requestAPI<unknown>(this.url('invoke') + deployment, { method: 'POST', body: test.input });
      test.output = JSON.stringify(reply, null, 2);
    } catch (error) {
      test.error = errorMessage(error);
    }
    test.busy = false;
    this.emit();
  }

  private changeDeployments(work: () => Promise<unknown>): Promise<boolean> {
    this.deploymentError = null;
    return this.act(work, message => (this.deploymentError = message));
  }
}
