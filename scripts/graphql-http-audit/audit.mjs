// Runs the GraphQL over HTTP audit suite of the npm package graphql-http
// against a running Lattice data API. Usage (see docs/graphql.md):
//   node audit.mjs URL TOKEN
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs http://localhost:8080/graphql lat_...');
  process.exit(2);
}
const results = await auditServer({
  url,
  fetchFn: (input, init = {}) => {
    init.headers = { ...(init.headers || {}), Authorization: 'Bearer ' + token };
    return fetch(input, init);
  },
});
for (const r of results) {
  if (r.status !== 'ok') console.log(r.status, r.id, r.name, '=>', r.reason);
}
const errors = results.filter((r) => r.status === 'error').length;
const warnings = results.filter((r) => r.status === 'warn').length;
console.log(`${results.length} audits: ${errors} errors, ${warnings} warnings`);
process.exit(errors > 0 ? 1 : 0);
