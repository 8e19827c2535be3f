// Runs the GraphQL over HTTP audit suite of the npm package graphql-http
// against a running Lattice data API. Usage (see docs/graphql.md):
//   node audit.mjs URL TOKEN
import { auditServer } from 'graphql-http';
import {
  buildClientSchema, buildSchema, getIntrospectionQuery, lexicographicSortSchema, printSchema,
  findBreakingChanges, findDangerousChanges,
} from 'graphql';

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
let errors = results.filter((r) => r.status === 'error').length;
const warnings = results.filter((r) => r.status === 'warn').length;
console.log(`${results.length} audits: ${errors} errors, ${warnings} warnings`);

// Introspection as GraphiQL, Apollo codegen and graphql-inspector use it:
// graphql-js's full introspection query must build a client schema equal
// to the SDL the endpoint serves at /schema.graphql.
const auth = { Authorization: 'Bearer ' + token };
const res = await fetch(url, {
  method: 'POST',
  headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/graphql-response+json' },
  body: JSON.stringify({ query: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true }) }),
});
const body = await res.json();
if (body.errors) {
  console.log('introspection failed:', JSON.stringify(body.errors));
  errors++;
} else {
  const fromIntrospection = lexicographicSortSchema(buildClientSchema(body.data));
  const sdl = await (await fetch(url.replace(/\/?$/, '/schema.graphql'), { headers: auth })).text();
  const fromSDL = lexicographicSortSchema(buildSchema(sdl));
  const changes = [...findBreakingChanges(fromSDL, fromIntrospection), ...findDangerousChanges(fromSDL, fromIntrospection)];
  if (changes.length > 0 || printSchema(fromSDL) !== printSchema(fromIntrospection)) {
    console.log('introspection and schema.graphql differ:', changes.map((c) => c.description).join('; ') || '(printed schemas differ)');
    errors++;
  } else {
    const types = Object.keys(fromIntrospection.getTypeMap()).filter((n) => !n.startsWith('__')).length;
    console.log(`introspection: ${types} types, identical to schema.graphql`);
  }
}
process.exit(errors > 0 ? 1 : 0);
