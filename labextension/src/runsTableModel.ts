/**
 * The runs table's state, apart from any view: experiment, filter, sort, columns, server-side
 * pages of top-level runs, the children of expanded rows, the ticked runs, and the best run by
 * the chosen metric.  Everything is asked of `GET runs` (filters, order_by, paging, child
 * counts, metric ranges and keys are the server's); errors are kept verbatim.
 */

import { FetchingModel } from './fetching';
import { errorMessage, query, requestAPI } from './request';
import {
  columnField,
  byManyUsers,
  defaultColumns,
  IColumn,
  IColumnKeys,
  IRunRow,
  keysOf,
  loadPrefs,
  quoteKey,
  savePrefs
} from './runColumns';
import { experimentSearchBestBy } from './pages/automl';
import { BEST_TIE_BREAK, chooseBest, Direction, directionOf, IBestBy, preferredMetric } from './ranking';
import { IExperiment, ISort, PAGE_SIZE } from './tokens';

/** Children fetched per expanded row (more on request). */
export const CHILDREN_PAGE = 100;
/** The most runs a comparison takes. */
export const COMPARE_MAX = 100;
/** The filter that keeps the top level: runs without a parent. */
const TOP_LEVEL = 'parent_id IS NULL';

/** The children of one expanded row. */
export interface IChildRows {
  runs: IRunRow[];
  next: string | null;
  loading: boolean;
  error: string | null;
}

/** The best run of the experiment by one metric (latest values), under the table's filter. */
export interface IBest {
  metric: string;
  direction: Direction;
  run: IRunRow | null;
  error: string | null;
}

interface IPage {
  runs: IRunRow[];
  next_page_token: string | null;
  keys?: IColumnKeys;
}

const quoted = (text: string) => `'${text.replace(/'/g, "''")}'`;

export class RunsTableModel extends FetchingModel {
  /** `experiment`: the one to show ('' for all; undefined: the last one shown, else the latest). */
  constructor(experiment?: string) {
    super();
    this._asked = experiment;
    this.ready = new Promise(resolve => (this._resolveReady = resolve));
  }

  experiments: IExperiment[] = [];
  experiment = '';
  filter = '';
  /** Children under their parent (top-level runs only), or every matching run flat. */
  nested = true;
  sort: ISort = { key: 'start_time', descending: true };
  runs: IRunRow[] = [];
  /** Rows whose children are shown, by run id. */
  readonly expanded = new Map<string, IChildRows>();
  /** Runs ticked for comparison (kept across pages and searches). */
  readonly selected = new Set<string>();
  /** The experiment's keys (null until the server listed them). */
  keys: IColumnKeys | null = null;
  best: IBest | null = null;
  /** Whether `experiment` is the one shown (asked for, or chosen by the first load). */
  get resolved(): boolean {
    return this._started && this._resolved;
  }
  /** Resolves once the first page and the best run are known. */
  readonly ready: Promise<void>;

  /** The columns shown: the user's choice for this experiment, else a default from its keys. */
  get columns(): IColumn[] {
    return this._columns ?? defaultColumns(this.keys ?? keysOf(this.runs), byManyUsers(this.runs), this._search?.metric ?? null);
  }

  get pageNumber(): number {
    return this._tokens.length + 1;
  }

  get hasNext(): boolean {
    return this._next !== null;
  }

  get hasPrevious(): boolean {
    return this._tokens.length > 0;
  }

  /** The metric keys the best-run picker offers. */
  get metricKeys(): string[] {
    return this.keys?.metrics ?? keysOf(this.runs).metrics;
  }

  /** Every run shown (top level and expanded children), by id. */
  find(runId: string): IRunRow | undefined {
    return [...this.runs, ...[...this.expanded.values()].flatMap(rows => rows.runs)].find(run => run.id === runId);
  }

  async refresh(): Promise<void> {
    if (!this._started) {
      this._started = true;
      await this.loadExperiments();
      this.experiment = this.initialExperiment();
      this._resolved = true;
      this.loadChoices();
    } else {
      void this.loadExperiments();
    }
    void this.loadKeys();
    await this.loadPage(this._token);
    await Promise.all([this.loadBest(), this.reloadExpanded()]);
    this._resolveReady();
  }

  /** A new query (experiment, filter, nesting or sort): back to the first page. */
  async search(change: Partial<Pick<RunsTableModel, 'experiment' | 'filter' | 'nested' | 'sort'>>): Promise<void> {
    const experimentChanged = change.experiment !== undefined && change.experiment !== this.experiment;
    if (change.experiment !== undefined) {
      this._asked = change.experiment; // chosen before the first load ended: it stays chosen
      this._resolved = true;
    }
    Object.assign(this, change);
    this._tokens = [];
    if (experimentChanged) {
      savePrefs('', { experiment: this.experiment });
      this.loadChoices();
      this.keys = null;
      this.expanded.clear();
      void this.loadKeys();
    }
    await this.loadPage(null);
    await Promise.all([this.loadBest(), this.reloadExpanded()]);
  }

  /**
   * Sort by a column; the same column again flips the direction.  A metric's first click puts the
   * best first (its direction in the best-run picker, else its name's: a loss lowest first); a
   * name ascending; other columns descending.
   */
  async sortBy(column: IColumn): Promise<void> {
    const key = columnField(column);
    let first = column.kind !== 'attribute' || key !== 'name';
    if (column.kind === 'metric') {
      const direction = this.best?.metric === column.key ? this.best.direction : directionOf(column.key, this._search);
      first = direction === 'max';
    }
    const descending = this.sort.key === key ? !this.sort.descending : first;
    await this.search({ sort: { key, descending } });
  }

  /** Show these columns (remembered for the experiment); min/max columns fetch their ranges. */
  async setColumns(columns: IColumn[]): Promise<void> {
    const before = this.rangeKeys().join('\n');
    this._columns = columns;
    savePrefs(this.experiment, { columns });
    this.emit();
    if (this.rangeKeys().join('\n') !== before) {
      await this.loadPage(this._token);
      await this.reloadExpanded();
    }
  }

  /** Mark the best run by this metric and direction (remembered for the experiment). */
  async setBest(metric: string, direction?: Direction): Promise<void> {
    const chosen = chooseBest(this.experiment, metric, direction ?? directionOf(metric, this._search));
    this.best = { ...chosen, run: null, error: null };
    this.emit();
    await this.loadBest();
  }

  toggleSelect(runId: string): void {
    if (!this.selected.delete(runId)) {
      this.selected.add(runId);
    }
    this.emit();
  }

  clearSelection(): void {
    this.selected.clear();
    this.emit();
  }

  /** Show or hide a row's children. */
  async toggleExpand(runId: string): Promise<void> {
    if (this.expanded.delete(runId)) {
      this.emit();
      return;
    }
    await this.loadChildren(runId, null);
  }

  /** The next page of a row's children. */
  async moreChildren(runId: string): Promise<void> {
    const rows = this.expanded.get(runId);
    if (rows?.next) {
      await this.loadChildren(runId, rows.next);
    }
  }

  async nextPage(): Promise<void> {
    if (this._next !== null) {
      const previous = this._token;
      if (await this.loadPage(this._next)) {
        this._tokens.push(previous);
        this.emit();
      }
    }
  }

  async previousPage(): Promise<void> {
    if (this._tokens.length > 0) {
      const token = this._tokens[this._tokens.length - 1];
      if (await this.loadPage(token)) {
        this._tokens.pop();
        this.emit();
      }
    }
  }

  private initialExperiment(): string {
    const names = this.experiments.map(e => e.name);
    if (this._asked !== undefined) {
      return this._asked;
    }
    const last = loadPrefs('').experiment;
    if (last !== undefined && (last === '' || names.includes(last))) {
      return last;
    }
    // the experiment with the latest run (a new user's only one)
    const latest = [...this.experiments].sort((a, b) => Number(b.last_run ?? 0) - Number(a.last_run ?? 0))[0];
    return latest?.name ?? '';
  }

  private loadChoices(): void {
    const prefs = loadPrefs(this.experiment);
    this._columns = Array.isArray(prefs.columns) ? prefs.columns : null;
    this.best = prefs.best ? { ...prefs.best, run: null, error: null } : null;
    this._search = null;
  }

  private async loadExperiments(): Promise<void> {
    try {
      this.experiments = (await requestAPI<{ experiments: IExperiment[] }>('experiments')).experiments;
      this.emit();
    } catch {
      // the runs request reports the same error where the user looks
    }
  }

  private async loadKeys(): Promise<void> {
    const experiment = this.experiment;
    try {
      const page = await requestAPI<IPage>(`runs${query({ experiment, max_results: 1, keys: 'true' })}`);
      if (experiment === this.experiment) {
        this.keys = page.keys ?? null;
        this.emit();
        if (!this.best?.run && !this.best?.error) {
          await this.loadBest();
        }
      }
    } catch {
      // the page's own request shows what is wrong
    }
  }

  /** Metrics shown as min or max: their ranges come with each page. */
  private rangeKeys(): string[] {
    return [...new Set(this.columns.filter(c => c.kind === 'metric' && c.agg && c.agg !== 'last').map(c => c.key))];
  }

  private params(filters: string[], extra: Record<string, string | number | null>): string {
    return query({
      filter: filters.filter(Boolean),
      experiment: this.experiment,
      order_by: `${this.sort.key} ${this.sort.descending ? 'DESC' : 'ASC'}`,
      ranges: this.rangeKeys(),
      children: this.nested ? 'true' : null,
      ...extra
    });
  }

  private async loadPage(token: string | null): Promise<boolean> {
    const filters = [this.filter.trim(), this.nested ? TOP_LEVEL : ''];
    const ok = await this.fetching(async () => {
      const ticket = this.ticket;
      const page = await requestAPI<IPage>(`runs${this.params(filters, { max_results: PAGE_SIZE, page_token: token })}`);
      if (!this.stale(ticket)) {
        this.runs = page.runs;
        this._token = token;
        this._next = page.next_page_token;
      }
    });
    if (!ok) {
      this.runs = [];
      this._next = null;
    }
    return ok;
  }

  private async loadChildren(parentId: string, token: string | null): Promise<void> {
    const known = this.expanded.get(parentId);
    const rows: IChildRows = { runs: token ? known?.runs ?? [] : [], next: null, loading: true, error: null };
    this.expanded.set(parentId, rows);
    this.emit();
    try {
      const page = await requestAPI<IPage>(
        `runs${this.params([`parent_id = ${quoted(parentId)}`], { max_results: CHILDREN_PAGE, page_token: token, children: 'true' })}`
      );
      rows.runs = [...rows.runs, ...page.runs];
      rows.next = page.next_page_token;
    } catch (error) {
      rows.error = errorMessage(error);
    }
    rows.loading = false;
    this.emit();
  }

  /** Expanded rows fetched again (after a new page, sort or columns). */
  private async reloadExpanded(): Promise<void> {
    await Promise.all([...this.expanded.keys()].map(id => this.loadChildren(id, null)));
  }

  /**
   * The best completed run by the metric the table marks the best by (under no filter), or null:
   * the first view opens its page (a run still running is not the best one yet).
   */
  async bestCompleted(): Promise<IRunRow | null> {
    const best = this.best;
    if (!best) {
      return null;
    }
    try {
      return await this.bestBy(best.metric, best.direction, "status = 'completed'");
    } catch {
      return null;
    }
  }

  /** The best run of the experiment by a metric in a direction, among the runs a filter matches. */
  private async bestBy(metric: string, direction: Direction, filter: string): Promise<IRunRow | null> {
    const field = `metrics.${quoteKey(metric)}`;
    const page = await requestAPI<IPage>(
      `runs${query({
        filter: [filter, `${field} IS NOT NULL`].filter(Boolean),
        experiment: this.experiment,
        order_by: [`${field} ${direction === 'min' ? 'ASC' : 'DESC'}`, ...BEST_TIE_BREAK],
        max_results: 1
      })}`
    );
    return page.runs[0] ?? null;
  }

  /**
   * The metric and direction of the experiment's latest automated-ML search (null: none), asked
   * once per experiment shown (the table of every experiment has none).
   */
  private searchBestBy(): Promise<IBestBy | null> {
    const experiment = this.experiment;
    if (this._searchOf?.experiment !== experiment) {
      // a failure: judged as any experiment (the page's own requests show what is wrong)
      const asked = experiment ? experimentSearchBestBy(experiment).catch(() => null) : Promise.resolve(null);
      this._searchOf = { experiment, asked };
    }
    return this._searchOf.asked;
  }

  /**
   * The best run by the chosen metric, else the experiment's search's (`ranking.ts`), else the
   * preferred one, among every run the filter matches.
   */
  private async loadBest(): Promise<void> {
    const experiment = this.experiment;
    const search = await this.searchBestBy();
    if (experiment !== this.experiment) {
      return;
    }
    this._search = search;
    const metric = this.best?.metric ?? search?.metric ?? preferredMetric(this.metricKeys);
    if (!metric) {
      this.best = null;
      this.emit();
      return;
    }
    const direction = this.best?.metric === metric ? this.best.direction : directionOf(metric, search);
    const best: IBest = { metric, direction, run: null, error: null };
    try {
      best.run = await this.bestBy(metric, direction, this.filter.trim());
    } catch (error) {
      best.error = errorMessage(error);
    }
    if (experiment === this.experiment) {
      this.best = best;
      // a best child: its parent opens once, so that the mark is in view
      const parent = typeof best.run?.parent_id === 'string' ? best.run.parent_id : null;
      if (parent && !this._shownBest.has(best.run!.id) && this.runs.some(run => run.id === parent)) {
        this._shownBest.add(best.run!.id);
        if (!this.expanded.has(parent)) {
          await this.loadChildren(parent, null);
        }
      }
      this.emit();
    }
  }

  private _asked: string | undefined;
  private _started = false;
  private _resolved = false;
  private _columns: IColumn[] | null = null;
  private _shownBest = new Set<string>();
  /** The experiment's latest search's metric and direction, once known (see `searchBestBy`). */
  private _search: IBestBy | null = null;
  private _searchOf: { experiment: string; asked: Promise<IBestBy | null> } | null = null;
  private _resolveReady: () => void = () => undefined;
  /** Tokens of the pages before the current one (the first page has none). */
  private _tokens: Array<string | null> = [];
  private _token: string | null = null;
  private _next: string | null = null;
}
