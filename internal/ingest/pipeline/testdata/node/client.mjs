// Runs a fixed scenario against odx's streaming ingestion endpoint in
// ODX_URL with the Node azure-kusto-ingest StreamingIngestClient and prints
// what its user sees, as JSON, for node_test.go to check.
import { Readable } from "node:stream";
import { StreamingIngestClient, IngestionProperties, DataFormat } from "azure-kusto-ingest";
import { KustoConnectionStringBuilder } from "azure-kusto-data";

const client = new StreamingIngestClient(KustoConnectionStringBuilder.withAccessToken(process.env.ODX_URL, "static-token"));

async function attempt(fn) {
  try {
    const r = await fn();
    return { ok: r && r.primaryResults ? r.primaryResults.map((t) => [...t.rows()].map((x) => x.toJSON())) : true };
  } catch (e) {
    return { error: String(e.message || e), status: e.response ? e.response.status : null, body: e.response ? e.response.data : null };
  }
}

const csv = "2026-01-01T00:00:00Z,node-a,1.5,1\n2026-01-01T00:00:01Z,node-b,2.5,2\n";
const out = {};
out.csv = await attempt(() =>
  client.ingestFromStream(Readable.from([Buffer.from(csv)]), new IngestionProperties({ database: "DB", table: "T", format: DataFormat.CSV })));
out.json = await attempt(() =>
  client.ingestFromStream(Readable.from([Buffer.from('{"dev":"node-j","n":3}\n')]),
    new IngestionProperties({ database: "DB", table: "T", format: DataFormat.JSON, ingestionMappingReference: "jm" })));
out.missingTable = await attempt(() =>
  client.ingestFromStream(Readable.from([Buffer.from(csv)]), new IngestionProperties({ database: "DB", table: "Nope", format: DataFormat.CSV })));
console.log(JSON.stringify(out));
