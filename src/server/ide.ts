/**
 * The in-browser GraphQL IDE (GraphiQL), served from this server's own node_modules: no CDN,
 * so it works on a machine without internet. Paste your token into the Headers tab.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import express from 'express';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

const ASSETS: Record<string, string> = {
  'react.js': path.join(packageDir('react'), 'umd/react.production.min.js'),
  'react-dom.js': path.join(packageDir('react-dom'), 'umd/react-dom.production.min.js'),
  'graphiql.js': path.join(packageDir('graphiql'), 'graphiql.min.js'),
  'graphiql.css': path.join(packageDir('graphiql'), 'graphiql.css'),
  'graphql-ws.js': path.join(path.dirname(require.resolve('graphql-ws')), '../umd/graphql-ws.min.js'),
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<title>deid-synth GraphQL IDE</title>
<link rel="stylesheet" href="/ide/assets/graphiql.css" />
<style>body { margin: 0; height: 100vh; } #ide { height: 100vh; }</style>
</head>
<body>
<div id="ide">Loading…</div>
<script src="/ide/assets/react.js"></script>
<script src="/ide/assets/react-dom.js"></script>
<script src="/ide/assets/graphql-ws.js"></script>
<script src="/ide/assets/graphiql.js"></script>
<script>
  const url = location.origin + '/graphql';
  const wsUrl = url.replace(/^http/, 'ws');
  function authorization(headers) {
    try { return JSON.parse(headers || '{}').Authorization; } catch { return undefined; }
  }
  const fetcher = GraphiQL.createFetcher({
    url,
    wsClient: graphqlWs.createClient({
      url: wsUrl,
      lazy: true,
      connectionParams: () => ({ Authorization: authorization(localStorage.getItem('graphiql:headers')) }),
    }),
  });
  ReactDOM.createRoot(document.getElementById('ide')).render(
    React.createElement(GraphiQL, {
      fetcher,
      // Empty by default: the schema loads without a token; queries need one.
      defaultHeaders: '{}',
      shouldPersistHeaders: true,
      defaultQuery: '# Put your API token in the Headers tab:\\n#   {"Authorization": "Bearer dsk_..."}\\n# then run:\\n{ me { email role } }\\n',
    }),
  );
</script>
</body>
</html>`;

export function ideRouter(): express.Router {
  const router = express.Router();
  router.get(['/', '/ide'], (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.get('/ide/assets/:name', (req, res) => {
    const file = ASSETS[req.params.name];
    if (!file) return void res.status(404).end();
    res.sendFile(file, { maxAge: '1h' });
  });
  return router;
}
