// Runs a fixed scenario against the Kusto endpoint in ODX_URL with the Node
// azure-kusto-data client and prints what a user of the client sees, as JSON,
// for node_test.go to check.
import { Client, KustoConnectionStringBuilder, ClientRequestProperties } from "azure-kusto-data";

const client = new Client(KustoConnectionStringBuilder.withAccessToken(process.env.ODX_URL, "static-token"));

function tables(response) {
  return response.primaryResults.map((t) => ({
    name: t.name,
    columns: t.columns.map((c) => [c.name, c.type]),
    rows: [...t.rows()].map((r) => [...r.values()]),
    // What the client hands out after its own datetime/timespan parsing.
    parsed: [...t.rows()].map((r) => {
      const o = r.toJSON();
      for (const k of Object.keys(o)) if (o[k] instanceof Date) o[k] = o[k].toISOString();
      return o;
    }),
  }));
}

async function attempt(fn) {
  try {
    return { ok: await fn() };
  } catch (e) {
    return {
      error: String(e.message || e),
      status: e.response ? e.response.status : null,
      body: e.response ? e.response.data : null,
    };
  }
}

const out = {};
out.v2 = await attempt(async () => tables(await client.execute("db", "AllTypes")));
out.v1 = await attempt(async () => tables(await client.executeQueryV1("db", "AllTypes")));
out.mgmt = await attempt(async () => tables(await client.executeMgmt("db", ".three")));
out.three = await attempt(async () => tables(await client.execute("db", "Three")));
out.syntax = await attempt(async () => tables(await client.execute("db", "T | whre x")));
const props = new ClientRequestProperties();
props.setOption("truncationmaxrecords", 4);
out.truncated = await attempt(async () => tables(await client.execute("db", "Ten", props)));
const params = new ClientRequestProperties();
params.setParameter("n", 5);
params.setTimeout(30000);
out.params = await attempt(async () => tables(await client.execute("db", "Ten", params)));
console.log(JSON.stringify(out));
