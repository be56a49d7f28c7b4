/**
 * Bundles lib/standalone.js (the workspace's own web page, served at {base_url}mlws/) into
 * ../jupyter_mlws/server/static/ with rspack and the lab extension builder's loaders.
 * `node build-standalone.js` (development) or `node build-standalone.js --production`.
 */

const path = require('path');
const { rspack } = require('@rspack/core');
const base = require('@jupyter/builder/lib/webpack.config.base');

const production = process.argv.includes('--production');

const config = {
  ...base,
  mode: production ? 'production' : 'development',
  devtool: production ? false : 'source-map',
  entry: { mlws: path.resolve(__dirname, 'lib', 'standalone.js') },
  output: {
    ...base.output,
    path: path.resolve(__dirname, '..', 'jupyter_mlws', 'server', 'static'),
    filename: '[name].js',
    chunkFilename: '[name].[contenthash].js',
    assetModuleFilename: '[name].[contenthash][ext]',
    clean: true
  },
  performance: { hints: false }
};

rspack(config, (err, stats) => {
  if (err || stats.hasErrors()) {
    console.error(err || stats.toString({ all: false, errors: true }));
    process.exit(1);
  }
  const info = stats.toJson({ all: false, assets: true });
  for (const asset of info.assets) {
    console.log(`${asset.name}  ${(asset.size / 1024).toFixed(0)} KiB`);
  }
});
