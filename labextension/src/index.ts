/** Plugin wiring only: the sidebar in the left area, main-area pages and their commands. */

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { LabIcon } from '@jupyterlab/ui-components';

import { SidebarModel } from './model';
import { LabPageHost } from './pages/host';
import { asPageRequest, IPageContext } from './pages/page';
import { Sidebar } from './sidebar';
import { submitNotebook } from './submit';
import { CommandIDs, OPEN_QUERY_PARAM, OPEN_WORKSPACE, PLUGIN_ID, SIDEBAR_ID } from './tokens';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161"><path d="M3 20h18v2H3z"/><path d="M5 10h3v8H5zM10.5 4h3v14h-3zM16 13h3v5h-3z"/></g>' +
  '</svg>';

export const mlwsIcon = new LabIcon({ name: 'jupyter-mlws:workspace', svgstr: ICON_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The ML workspace sidebar: runs, metrics, logs, files and models.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, IDefaultFileBrowser, IRenderMimeRegistry],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null,
    rendermime: IRenderMimeRegistry | null
  ) => {
    // main-area pages: one tab per item (opening it again focuses it), restored on reload
    const context: IPageContext = {
      open: request => void app.commands.execute(CommandIDs.openPage, request as any),
      openNotebook: path => void app.commands.execute('docmanager:open', { path }),
      events: app.serviceManager.events.stream,
      rendermime
    };
    const pages = new LabPageHost(app, () => context, restorer, CommandIDs.openPage);
    app.commands.addCommand(CommandIDs.openPage, {
      label: args => String(args.label ?? 'Open a workspace page'),
      execute: args => {
        const request = asPageRequest(args);
        if (request) {
          pages.open(request);
        }
      }
    });
    for (const [kind, label] of [
      ['runs', 'Runs table'],
      ['models', 'Models'],
      ['endpoints', 'Endpoints']
    ] as const) {
      palette?.addItem({ command: CommandIDs.openPage, args: { kind, label }, category: 'ML workspace' });
    }

    const model = new SidebarModel();
    model.openNotebook = path => void app.commands.execute('docmanager:open', { path });
    const sidebar = new Sidebar(model);
    sidebar.title.icon = mlwsIcon;
    sidebar.title.caption = 'ML workspace';
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, SIDEBAR_ID);

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
          app.shell.activateById(SIDEBAR_ID);
          sidebar.model.openRun(run.id);
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

    palette?.addItem({ command: CommandIDs.openSidebar, category: 'ML workspace' });
    palette?.addItem({ command: CommandIDs.refresh, category: 'ML workspace' });

    // live updates: the server extension's events on Jupyter's events stream (no polling)
    app.serviceManager.events.stream.connect((_, event) => {
      if (sidebar.isVisible) {
        sidebar.model.onServerEvent(event);
      }
    });

    // the `mlws` workspace (mlws quickstart's URL: a path, so that Jupyter can append
    // `?token=`) or `?mlws=open` open the panel once the layout is restored
    if (
      PageConfig.getOption('workspace') === OPEN_WORKSPACE ||
      new URLSearchParams(window.location.search).get(OPEN_QUERY_PARAM) === 'open'
    ) {
      void app.restored.then(() => app.shell.activateById(SIDEBAR_ID));
    }
  }
};

export default plugin;
