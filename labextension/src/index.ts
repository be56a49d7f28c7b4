/** Plugin wiring only: the navigator in the left area, main-area pages and their commands. */

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification, ToolbarButton } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { LabIcon } from '@jupyterlab/ui-components';
import { DockPanel, Widget } from '@lumino/widgets';

import { NavigatorModel } from './navigatorModel';
import { LabPageHost } from './pages/host';
import { asPageRequest, IPageContext } from './pages/page';
import { firstViewExperiment } from './pages/firstView';
import { stillThere } from './pages/restore';
import { RunsPageWidget } from './pages/runsPage';
import { COMPARE_MAX } from './runsTableModel';
import { Sidebar } from './sidebar';
import { submitNotebook } from './submit';
import { CommandIDs, isFirstViewWorkspace, OPEN_QUERY_PARAM, PLUGIN_ID, SIDEBAR_ID } from './tokens';
import { followIdleWarnings } from './vmIdleWarning';
import { followScheduleRuns } from './scheduleRunNotice';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161"><path d="M3 20h18v2H3z"/><path d="M5 10h3v8H5zM10.5 4h3v14h-3zM16 13h3v5h-3z"/></g>' +
  '</svg>';

export const mlwsIcon = new LabIcon({ name: 'jupyter-mlws:workspace', svgstr: ICON_SVG });

/** The list pages, as the palette and the launcher offer them. */
const LIST_PAGES = [
  ['runs', 'Runs table'],
  ['models', 'Models'],
  ['endpoints', 'Endpoints'],
  ['compute', 'Compute'],
  ['secrets', 'Secrets'],
  ['pipelines', 'Pipelines'],
  ['schedules', 'Schedules'],
  ['data', 'Data']
] as const;
const CATEGORY = 'ML workspace';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The ML workspace: a navigator in the sidebar, runs, models and endpoints in the main area.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, IDefaultFileBrowser, IRenderMimeRegistry, ILauncher],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null,
    rendermime: IRenderMimeRegistry | null,
    launcher: ILauncher | null
  ) => {
    // main-area pages: one tab per item (opening it again focuses it), restored on reload
    const context: IPageContext = {
      open: request => void app.commands.execute(CommandIDs.openPage, request as any),
      openNotebook: path => void app.commands.execute('docmanager:open', { path }),
      events: app.serviceManager.events.stream,
      rendermime
    };
    const pages = new LabPageHost(app, () => context, restorer, CommandIDs.restorePage);
    app.commands.addCommand(CommandIDs.openPage, {
      label: args => String(args.label ?? 'Open a workspace page'),
      icon: mlwsIcon,
      execute: args => {
        const request = asPageRequest(args);
        if (request) {
          pages.open(request);
        }
      }
    });
    // what the layout restorer runs: a tab whose item is gone (deleted since, or saved by another
    // project) is not reopened, and the restorer forgets it (the command fails); the others open
    // in the order the restorer asks (their checks run at once)
    let restoring: Promise<void> = Promise.resolve();
    app.commands.addCommand(CommandIDs.restorePage, {
      execute: args => {
        const request = asPageRequest(args);
        const there = request === null ? Promise.resolve(false) : stillThere(request);
        const opened = restoring.then(async () => {
          if (request === null || !(await there)) {
            throw new Error(`not reopened: ${request?.kind} ${request?.id ?? request?.experiment ?? ''} is gone`);
          }
          pages.open(request);
        });
        restoring = opened.catch(() => undefined);
        return opened;
      }
    });

    // the navigator
    const navigator = new NavigatorModel();
    const sidebar = new Sidebar(navigator, context.open);
    sidebar.title.icon = mlwsIcon;
    sidebar.title.caption = 'ML workspace';
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, SIDEBAR_ID);

    // "Compare selected runs": the ticked runs of the current runs table, else of the sidebar
    const ticked = (): string[] => {
      const content = pages.tracker.currentWidget?.content;
      const table = content instanceof RunsPageWidget ? [...content.model.selected] : [];
      return table.length > 0 ? table : [...navigator.selected];
    };
    app.commands.addCommand(CommandIDs.compareSelected, {
      label: 'Compare selected runs',
      caption: `Compare the runs ticked in the runs table or the sidebar (2 to ${COMPARE_MAX})`,
      icon: mlwsIcon,
      isEnabled: () => ticked().length >= 2 && ticked().length <= COMPARE_MAX,
      execute: () => {
        const ids = ticked();
        if (ids.length < 2 || ids.length > COMPARE_MAX) {
          Notification.warning(`Tick 2 to ${COMPARE_MAX} runs in the runs table or the sidebar to compare them (${ids.length} ticked).`, {
            autoClose: 5000
          });
          return;
        }
        pages.open({ kind: 'compare', ids });
      }
    });
    let shownCount = 0; // the palette and launcher redraw on a change of the count only
    const selectionChanged = () => {
      if (ticked().length !== shownCount) {
        shownCount = ticked().length;
        app.commands.notifyCommandChanged(CommandIDs.compareSelected);
      }
    };
    navigator.changed.connect(selectionChanged);
    pages.tracker.currentChanged.connect(selectionChanged);
    pages.tracker.widgetAdded.connect((_, widget) => {
      if (widget.content instanceof RunsPageWidget) {
        widget.content.model.changed.connect(selectionChanged);
      }
    });

    for (const [kind, label] of LIST_PAGES) {
      palette?.addItem({ command: CommandIDs.openPage, args: { kind, label }, category: CATEGORY });
    }
    palette?.addItem({ command: CommandIDs.compareSelected, category: CATEGORY });
    LIST_PAGES.forEach(([kind, label], rank) =>
      launcher?.add({ command: CommandIDs.openPage, args: { kind, label }, category: CATEGORY, rank })
    );
    launcher?.add({ command: CommandIDs.compareSelected, category: CATEGORY, rank: LIST_PAGES.length });

    app.commands.addCommand(CommandIDs.openSidebar, {
      label: 'Open the ML workspace',
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh the ML workspace',
      execute: () => sidebar.model.refresh()
    });
    // "Submit as experiment": a button in every notebook's toolbar (the path is the notebook's)
    // and a command on notebooks in the file browser (the path is the selected item's)
    const selectedNotebook = (): string | null => {
      const item = browser?.selectedItems().next();
      const model = item && !item.done ? item.value : null;
      return model && model.type === 'notebook' ? model.path : null;
    };
    app.commands.addCommand(CommandIDs.submitNotebook, {
      label: 'Submit as experiment…',
      caption: 'Run this notebook as an experiment with Papermill, with a parameter form',
      isEnabled: args => typeof args.path === 'string' || selectedNotebook() !== null,
      execute: async args => {
        const path = typeof args.path === 'string' ? args.path : selectedNotebook();
        if (path === null) {
          return;
        }
        const run = await submitNotebook(path);
        if (run) {
          pages.open({ kind: 'run', id: run.id });
        }
      }
    });
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: any, context: any) => {
        const button = new ToolbarButton({
          className: 'mlws-SubmitButton',
          label: 'Submit as experiment',
          tooltip: 'Run this notebook as an experiment (ML workspace)',
          onClick: () => void app.commands.execute(CommandIDs.submitNotebook, { path: context.path })
        });
        panel.toolbar.insertItem(10, 'mlwsSubmit', button);
        return button;
      }
    });

    app.contextMenu.addItem({
      command: CommandIDs.submitNotebook,
      selector: '.jp-DirListing-item[data-file-type="notebook"]',
      rank: 3
    });

    palette?.addItem({ command: CommandIDs.openSidebar, category: CATEGORY });
    palette?.addItem({ command: CommandIDs.refresh, category: CATEGORY });

    followIdleWarnings(app.serviceManager.events.stream); // a VM about to stop for being idle
    followScheduleRuns(app.serviceManager.events.stream, context.open); // a schedule's run ended
    // live updates: the server extension's events on Jupyter's events stream (no polling)
    app.serviceManager.events.stream.connect((_, event) => {
      if (sidebar.isVisible) {
        navigator.onServerEvent(event);
      }
    });

    // `?mlws=open` opens the panel once the layout is restored; the `mlws-<id>` workspace (mlws
    // quickstart's URL: a path, so that Jupyter can append `?token=`) shows the first view too:
    // the runs table of quickstart's experiment and, below it, its best completed run's page on its charts
    const quickstart = isFirstViewWorkspace(PageConfig.getOption('workspace'));
    if (quickstart || new URLSearchParams(window.location.search).get(OPEN_QUERY_PARAM) === 'open') {
      void app.restored.then(async () => {
        app.shell.activateById(SIDEBAR_ID);
        // the first view once: a reload (or a later visit) keeps the tabs the user left, and
        // never adds the view again beside them
        if (!quickstart || pages.tracker.size > 0) {
          return;
        }
        const table = pages.open({ kind: 'runs', experiment: await firstViewExperiment() });
        if (table.content instanceof RunsPageWidget) {
          await table.content.model.ready;
          const best = await table.content.model.bestCompleted();
          if (best) {
            const run = pages.open({ kind: 'run', id: best.id, tab: 'charts' }, { mode: 'split-bottom', ref: table.id });
            shareHeight(run, TABLE_SHARE);
          }
        }
      });
    }
  }
};

/** The first view's share of the main area's height for the runs table (a few sample runs). */
const TABLE_SHARE = 0.36;

/**
 * Give the table above `below` (just split off it) `share` of the height: the table shows every
 * column at full width, the run's page below it its chart, both in view at 1440x900.
 */
function shareHeight(below: Widget, share: number): void {
  const dock = below.parent;
  if (!(dock instanceof DockPanel)) {
    return;
  }
  const layout = dock.saveLayout();
  const main = layout.main;
  if (main?.type === 'split-area' && main.orientation === 'vertical' && main.children.length === 2) {
    dock.restoreLayout({ main: { ...main, sizes: [share, 1 - share] } });
  }
}

export default plugin;
