/**
 * The endpoints with their request statistics (the Endpoints page's list) and the deploy
 * form's progress (a model's page), apart from any view.  Everything goes through
 * `requestAPI`; errors are kept verbatim.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { errorMessage, query, requestAPI } from './request';
import { IEndpoint, IEndpointMetrics } from './tokens';

/** What the deploy form sends: `POST mlws/api/endpoints`. */
export interface IDeployRequest {
  name: string;
  model: string;
  script: string;
  workers: number;
}

/** The deploy form: the version it deploys, and the progress of its last submission. */
export interface IDeployment {
  /** The model version, e.g. `iris:2`. */
  model: string;
  /** The endpoint being created, once the server accepted the request. */
  endpoint: string | null;
  submitting: boolean;
  /** The server's refusal of the request, verbatim. */
  error: string | null;
}

/** Seconds of request statistics the list shows. */
export const METRICS_SINCE_S = 3600;

export class EndpointsModel {
  endpoints: IEndpoint[] = [];
  metrics: Record<string, IEndpointMetrics> = {};
  loading = false;
  /** The list's last fetch error, verbatim. */
  error: string | null = null;
  deploy: IDeployment | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The endpoint the deploy form created, as last fetched. */
  get deployed(): IEndpoint | null {
    const name = this.deploy?.endpoint;
    return (name && this.endpoints.find(e => e.name === name)) || null;
  }

  /** Every endpoint, and the metrics of those that serve. */
  async refresh(): Promise<void> {
    if (this._inflight) {
      return this._inflight;
    }
    this._inflight = this._refresh().finally(() => {
      this._inflight = null;
    });
    return this._inflight;
  }

  private async _refresh(): Promise<void> {
    this.loading = true;
    this.emit();
    try {
      const reply = await requestAPI<{ endpoints: IEndpoint[] }>('endpoints');
      const serving = reply.endpoints.filter(e => e.state === 'healthy');
      const metrics = await Promise.all(
        serving.map(e =>
          requestAPI<IEndpointMetrics>(
            `endpoints/${encodeURIComponent(e.name)}/metrics${query({ since: METRICS_SINCE_S })}`
          ).catch(() => null)
        )
      );
      this.endpoints = reply.endpoints;
      this.metrics = {};
      serving.forEach((e, i) => {
        const m = metrics[i];
        if (m) {
          this.metrics[e.name] = m;
        }
      });
      this.error = null;
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.loading = false;
      this.emit();
    }
  }

  /** Open the deploy form for a model version (`NAME:VERSION`), or close it with null. */
  openDeploy(model: string | null): void {
    this.deploy = model === null ? null : { model, endpoint: null, submitting: false, error: null };
    this.emit();
  }

  /** Create the endpoint; the server answers at once and the refreshes show its progress. */
  async submitDeploy(request: Omit<IDeployRequest, 'model'>): Promise<void> {
    const deploy = this.deploy;
    if (!deploy || deploy.submitting) {
      return;
    }
    deploy.submitting = true;
    deploy.error = null;
    deploy.endpoint = null;
    this.emit();
    try {
      const created = await requestAPI<IEndpoint>('endpoints', {
        method: 'POST',
        body: JSON.stringify({ ...request, model: deploy.model })
      });
      deploy.endpoint = created.name;
      this.endpoints = [...this.endpoints.filter(e => e.name !== created.name), created].sort((a, b) =>
        a.name.localeCompare(b.name)
      );
    } catch (error) {
      deploy.error = errorMessage(error);
    } finally {
      deploy.submitting = false;
      this.emit();
    }
    if (deploy.endpoint) {
      await this.refresh();
    }
  }

  private emit(): void {
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _inflight: Promise<void> | null = null;
}
