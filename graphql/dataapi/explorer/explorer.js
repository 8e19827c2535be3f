// The Lattice GraphQL explorer: GraphiQL against the endpoint that served
// the page. The token stays in this browser's storage and is sent as a
// bearer token; without one the session cookie of a login is used.
(function () {
  "use strict";
  const key = "lattice.graphql.token";
  const endpoint = location.pathname;
  const input = document.getElementById("token");
  input.value = localStorage.getItem(key) || "";
  function save() {
    const token = input.value.trim();
    if (token) localStorage.setItem(key, token); else localStorage.removeItem(key);
    location.reload();
  }
  document.getElementById("save").addEventListener("click", save);
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") save(); });

  function fetcher(params) {
    const headers = { "Content-Type": "application/json", "Accept": "application/graphql-response+json, application/json" };
    const token = localStorage.getItem(key);
    if (token) headers["Authorization"] = "Bearer " + token;
    return fetch(endpoint, { method: "POST", headers, body: JSON.stringify(params), credentials: "same-origin" })
      .then((r) => r.json());
  }
  const root = document.getElementById("graphiql");
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    root.textContent = "GraphiQL could not be loaded from this server; any GraphQL client works against " +
      location.origin + endpoint + ".";
    return;
  }
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }));
})();
