/**
 * A page whose module loads on first use (a chunk of its own), so that JupyterLab's start does
 * not pay for it: a panel that says "Loading…" until the module is there, then holds the page
 * its factory builds and takes that page's title (and passes on what it is asked again).
 */

import { Panel, Widget } from '@lumino/widgets';

import { errorMessage } from '../request';
import { IPageContext, IPageRequest, IReopenable, PageFactory, reopen } from './page';

/**
 * A factory that loads `load`'s module first; `label(request)` names the tab meanwhile (the
 * page renames it as it does when built directly).
 */
export function lazyPage(load: () => Promise<PageFactory>, label: (request: IPageRequest) => string): PageFactory {
  return (request, context) => new LazyPage(load, request, context, label(request));
}

class LazyPage extends Panel implements IReopenable {
  /** The page once its module is there. */
  private page: Widget | null = null;
  /** What it was asked for last (the page is built with it). */
  private request: IPageRequest;

  reopen(request: IPageRequest): void {
    this.request = request;
    if (this.page) {
      reopen(this.page, request);
    }
  }

  constructor(load: () => Promise<PageFactory>, request: IPageRequest, context: IPageContext, label: string) {
    super();
    this.request = request;
    this.addClass('mlws-LazyPage');
    this.title.label = label;
    const waiting = new Widget();
    waiting.addClass('mlws-Muted');
    waiting.node.textContent = 'Loading…';
    this.addWidget(waiting);
    load().then(
      factory => {
        if (this.isDisposed) {
          return;
        }
        const page = factory(this.request, context);
        this.page = page;
        waiting.dispose();
        this.addWidget(page);
        const retitle = () => {
          this.title.label = page.title.label;
          this.title.caption = page.title.caption;
        };
        retitle();
        page.title.changed.connect(retitle);
      },
      error => {
        if (!this.isDisposed) {
          waiting.removeClass('mlws-Muted');
          waiting.addClass('mlws-Error');
          waiting.node.setAttribute('role', 'alert');
          waiting.node.textContent = `This page could not be loaded: ${errorMessage(error)}`;
        }
      }
    );
  }
}
