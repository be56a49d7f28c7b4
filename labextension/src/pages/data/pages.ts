/** The Data pages' factories: one chunk, loaded when either page is first opened (registry.ts). */

export { createDataPage } from './dataPage';
export { createDatasetPage } from './datasetPage';
