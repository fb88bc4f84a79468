// Drives a running odx with Microsoft's Node Kusto client (azure-kusto-data)
// and @azure/identity against odx's own token endpoint. Prints one JSON
// document with what it saw; the Go test asserts on it.
//
// Usage: node client.mjs <dataEndpoint> <authority> <tenant> <clientId> <secret> <db>
// The CA must be trusted through NODE_EXTRA_CA_CERTS.
import { Client, KustoConnectionStringBuilder } from "azure-kusto-data";
import { ClientSecretCredential } from "@azure/identity";

const [endpoint, authority, tenant, clientId, secret, db] = process.argv.slice(2);

const credential = new ClientSecretCredential(tenant, clientId, secret, {
  authorityHost: authority,
  disableInstanceDiscovery: true,
});
const client = new Client(KustoConnectionStringBuilder.withTokenCredential(endpoint, credential));

const out = {};
const rows = (table) => [...table.rows()].map((r) => r.toJSON());

await client.executeMgmt("NetDefaultDB", `.create database ${db}`);
await client.executeMgmt(db, ".create table Metrics (Timestamp: datetime, Name: string, Value: long, Tags: dynamic)");
await client.executeMgmt(db,
  ".ingest inline into table Metrics <|\n" +
  "2024-05-01T10:00:00Z,cpu,10,\"{\"\"host\"\":\"\"a\"\"}\"\n" +
  "2024-05-01T10:05:00Z,cpu,30,\"{\"\"host\"\":\"\"b\"\"}\"\n" +
  "2024-05-01T10:10:00Z,mem,7,\"{\"\"host\"\":\"\"a\"\"}\"");

// v2 query: Node reads only DataTable frames, so odx must not fragment for it.
const v2 = await client.executeQuery(db, "Metrics | summarize total=sum(Value), hosts=make_set(tostring(Tags.host)) by Name | order by Name asc");
out.v2 = rows(v2.primaryResults[0]);
out.v2Columns = v2.primaryResults[0].columns.map((c) => [c.name, c.type]);

// v1 query
const v1 = await client.executeQueryV1(db, "Metrics | where Name == 'cpu' | project Timestamp, Value | order by Timestamp asc");
out.v1 = rows(v1.primaryResults[0]);

// management command
const tables = await client.executeMgmt(db, ".show tables");
out.tables = rows(tables.primaryResults[0]).map((r) => r.TableName);

// a syntax error surfaces as a client error with Kusto's code
try {
  await client.executeQuery(db, "Metrics | where");
  out.syntaxError = null;
} catch (e) {
  // azure-kusto-data rethrows the HTTP error; Kusto's error body is its response data.
  const body = e.response && e.response.data && e.response.data.error;
  out.syntaxError = body ? `${e.response.status} ${body.code}: ${body["@message"] || body.message}` : String(e.message || e);
}

console.log(JSON.stringify(out));
