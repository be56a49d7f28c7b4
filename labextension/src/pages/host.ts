/**
 * Where pages open.  In JupyterLab: main-area tabs (`MainAreaWidget`), tracked so that opening
 * the same item focuses its tab and the layout restorer brings open tabs back on reload.
 * On the workspace's own page (`mlws server`): tabs of a dock panel beside the sidebar.
 */

import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { DockPanel, Widget } from '@lumino/widgets';

import { IPageContext, IPageRequest, pageKey, reopen, sameItem } from './page';
import { createPage } from './registry';

/** Where a new page goes: beside or below another (`ref`: its id), or as a tab (default). */
export interface IPlacement {
  mode?: 'split-right' | 'split-left' | 'split-top' | 'split-bottom' | 'tab-after';
  ref?: string;
}

/** Opens pages: focuses the one already showing a request, or creates it; returns its widget. */
export interface IPageHost {
  open(request: IPageRequest, placement?: IPlacement): Widget;
}

let counter = 0;

/** A page's content with the request that made it (kept for the restorer and for focusing). */
function build(request: IPageRequest, context: IPageContext): Widget {
  const content = createPage(request, context);
  content.id = content.id || `mlws-page-${++counter}`;
  content.addClass('mlws-Page');
  content.title.closable = true;
  (content as any).mlwsRequest = request;
  return content;
}

export function requestOf(widget: Widget): IPageRequest | null {
  return ((widget as any).content ?? widget).mlwsRequest ?? null;
}

/** An open page asked for again: it shows what the request asks (a version), and keeps it for the restorer. */
function askAgain(page: Widget, request: IPageRequest): void {
  if (request.version !== undefined) {
    (page as any).mlwsRequest = { ...requestOf(page), version: request.version };
  }
  reopen(page, request);
}

/** JupyterLab's main area. */
export class LabPageHost implements IPageHost {
  readonly tracker = new WidgetTracker<MainAreaWidget>({ namespace: 'mlws-pages' });

  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly context: () => IPageContext,
    restorer: ILayoutRestorer | null,
    /** The command that reopens a saved request (it may refuse one whose item is gone). */
    command: string
  ) {
    if (restorer) {
      void restorer.restore(this.tracker, {
        command,
        args: widget => ({ ...(requestOf(widget) as any) }),
        name: widget => pageKey(requestOf(widget)!)
      });
    }
    // the restorer reopens every page the saved state holds, but the saved tab layout places only
    // those it names: a page left out of it is in no tab, so it is dropped (and forgotten)
    void app.restored.then(() => {
      const pages: MainAreaWidget[] = [];
      this.tracker.forEach(widget => pages.push(widget));
      pages.forEach(widget => this.dropIfHidden(widget));
    });
  }

  /** Dispose `widget` when it is in no tab of the shell (so the tracker and the restorer's saved
   * state no longer hold it); whether it was. */
  private dropIfHidden(widget: MainAreaWidget): boolean {
    if (widget.isDisposed || (widget.isAttached && widget.parent !== null)) {
      return false;
    }
    widget.dispose();
    return true;
  }

  open(request: IPageRequest, placement: IPlacement = {}): MainAreaWidget {
    let open = this.tracker.find(widget => {
      const shown = requestOf(widget);
      return shown !== null && sameItem(shown, request);
    });
    if (open && this.dropIfHidden(open)) {
      open = undefined; // in no tab: made again below
    }
    if (open) {
      askAgain(open.content, request);
      void this.tracker.save(open);
      this.app.shell.activateById(open.id);
      return open;
    }
    const content = build(request, this.context());
    const widget = new MainAreaWidget({ content });
    widget.id = `${content.id}-tab`;
    widget.title.label = content.title.label;
    widget.title.closable = true;
    content.title.changed.connect(() => {
      widget.title.label = content.title.label;
      widget.title.caption = content.title.caption;
      void this.tracker.save(widget); // a runs table names the experiment it shows in its request
    });
    (widget as any).mlwsRequest = request;
    void this.tracker.add(widget);
    this.app.shell.add(widget, 'main', placement);
    this.app.shell.activateById(widget.id);
    return widget;
  }
}

/** The workspace's own page: tabs in a dock panel. */
export class DockPageHost implements IPageHost {
  constructor(
    readonly dock: DockPanel,
    private readonly context: () => IPageContext
  ) {}

  open(request: IPageRequest, placement: IPlacement = {}): Widget {
    for (const widget of this.dock.widgets()) {
      const shown = requestOf(widget);
      if (shown && sameItem(shown, request)) {
        askAgain(widget, request);
        this.dock.activateWidget(widget);
        return widget;
      }
    }
    const content = build(request, this.context());
    const ref = placement.ref ? [...this.dock.widgets()].find(w => w.id === placement.ref) ?? null : null;
    this.dock.addWidget(content, { mode: placement.mode ?? 'tab-after', ref });
    this.dock.activateWidget(content);
    return content;
  }
}
