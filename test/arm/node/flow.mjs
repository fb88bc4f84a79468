// The data connection flow of data-connection-python.md with the Node SDK
// (@azure/arm-kusto 8.1.0, @azure/identity 4.14.1) against odx.
// Environment: ODX_URL, ODX_TENANT, ODX_CLIENT_ID, ODX_CLIENT_SECRET,
// ODX_SUBSCRIPTION, NODE_EXTRA_CA_CERTS; ODX_DATA_PLANE_SETUP=1 makes the
// table and mapping through the Kusto data plane. Prints OK or exits non-zero.
import { KustoManagementClient } from "@azure/arm-kusto";
import { ClientSecretCredential } from "@azure/identity";

const env = process.env;
const url = env.ODX_URL, sub = env.ODX_SUBSCRIPTION;
const fail = (what) => { console.error("FAIL: " + what); process.exit(1); };
const expect = (cond, what) => { if (!cond) fail(what); };

const cred = new ClientSecretCredential(env.ODX_TENANT, env.ODX_CLIENT_ID, env.ODX_CLIENT_SECRET,
  { authorityHost: url, disableInstanceDiscovery: true });
const client = new KustoManagementClient(cred, sub,
  { endpoint: url, credentialScopes: ["https://management.azure.com/.default"] });
const lro = { updateIntervalInMs: 1000 };
const rg = "noderg", cluster = "nodecluster", db = "nodedb", location = "westeurope";
const hub = (name) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/${name}`;

const c = await client.clusters.beginCreateOrUpdateAndWait(rg, cluster,
  { location, sku: { name: "Dev(No SLA)_Standard_E2a_v4", tier: "Basic", capacity: 1 }, properties: {} }, lro);
expect(c.provisioningState === "Succeeded" && c.uri === url, `cluster ${c.provisioningState} ${c.uri}`);
const d = await client.databases.beginCreateOrUpdateAndWait(rg, cluster, db,
  { kind: "ReadWrite", location, softDeletePeriod: "P30D" }, lro);
expect(d.kind === "ReadWrite" && d.softDeletePeriod === "P30D", `database ${d.kind} ${d.softDeletePeriod}`);

if (env.ODX_DATA_PLANE_SETUP === "1") {
  const meta = await (await fetch(`${c.uri}/v1/rest/auth/metadata`)).json();
  const { token } = await cred.getToken(`${meta.AzureAD.KustoServiceResourceId}/.default`);
  for (const csl of [".create table Events (Timestamp: datetime, Message: string)",
    `.create table Events ingestion json mapping 'EventsMapping' '[{"column":"Timestamp","path":"$.ts"},{"column":"Message","path":"$.msg"}]'`]) {
    const r = await fetch(`${c.uri}/v1/rest/mgmt`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ db, csl }) });
    expect(r.ok, `${csl}: ${r.status} ${await r.text()}`);
  }
}

const common = { location, consumerGroup: "$Default", tableName: "Events", mappingRuleName: "EventsMapping", dataFormat: "MULTIJSON" };
const eh = await client.dataConnections.beginCreateOrUpdateAndWait(rg, cluster, db, "eh1",
  { kind: "EventHub", eventHubResourceId: hub("events"), ...common }, lro);
expect(eh.kind === "EventHub" && eh.provisioningState === "Succeeded" && eh.compression === "None", `EventHub ${eh.kind} ${eh.provisioningState} ${eh.compression}`);
const eg = await client.dataConnections.beginCreateOrUpdateAndWait(rg, cluster, db, "eg1",
  { kind: "EventGrid", eventHubResourceId: hub("blobs"),
    storageAccountResourceId: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/acct1`, ...common }, lro);
expect(eg.kind === "EventGrid" && eg.blobStorageEventType === "Microsoft.Storage.BlobCreated", `EventGrid ${eg.kind} ${eg.blobStorageEventType}`);
const iot = await client.dataConnections.beginCreateOrUpdateAndWait(rg, cluster, db, "iot1",
  { kind: "IotHub", iotHubResourceId: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Devices/IotHubs/hub1`,
    sharedAccessPolicyName: "iothubowner", ...common }, lro);
expect(iot.kind === "IotHub" && iot.sharedAccessPolicyName === "iothubowner", `IotHub ${iot.kind}`);

const got = await client.dataConnections.get(rg, cluster, db, "eg1");
expect(got.kind === "EventGrid" && got.name === `${cluster}/${db}/eg1`, `get ${got.kind} ${got.name}`);
const kinds = [];
for await (const x of client.dataConnections.listByDatabase(rg, cluster, db)) kinds.push(x.kind);
expect(kinds.sort().join() === "EventGrid,EventHub,IotHub", `list ${kinds}`);

const good = await client.dataConnections.beginDataConnectionValidationAndWait(rg, cluster, db,
  { dataConnectionName: "probe", properties: { kind: "EventHub", eventHubResourceId: hub("events"), ...common, consumerGroup: "probe" } }, lro);
expect(Array.isArray(good.value) && good.value.length === 0, `good validation ${JSON.stringify(good)}`);
const bad = await client.dataConnections.beginDataConnectionValidationAndWait(rg, cluster, db,
  { dataConnectionName: "probe", properties: { kind: "EventHub", eventHubResourceId: hub("events"), ...common, tableName: "Missing" } }, lro);
expect(bad.value.some((v) => v.errorMessage.includes("Missing")) && bad.value.some((v) => v.errorMessage.includes("already used")),
  `bad validation ${JSON.stringify(bad)}`);

const name = await client.dataConnections.checkNameAvailability(rg, cluster, db,
  { name: "eh1", type: "Microsoft.Kusto/clusters/databases/dataConnections" });
expect(name.nameAvailable === false && name.reason === "AlreadyExists", `name check ${JSON.stringify(name)}`);

try {
  await client.dataConnections.beginCreateOrUpdateAndWait(rg, cluster, db, "bad1",
    { kind: "EventHub", location, consumerGroup: "x", eventHubResourceId: hub("other"), dataFormat: "NOPE" }, lro);
  fail("PUT with a bad dataFormat succeeded");
} catch (e) {
  expect(e.statusCode === 400 && /dataFormat/.test(e.message), `bad PUT: ${e.statusCode} ${e.message}`);
}

// A Reader (ODX_READER_ID/SECRET, when the test made one) reads but may not delete.
if (env.ODX_READER_ID) {
  const reader = new KustoManagementClient(new ClientSecretCredential(env.ODX_TENANT, env.ODX_READER_ID, env.ODX_READER_SECRET,
    { authorityHost: url, disableInstanceDiscovery: true }), sub, { endpoint: url, credentialScopes: ["https://management.azure.com/.default"] });
  const seen = await reader.dataConnections.get(rg, cluster, db, "eh1");
  expect(seen.kind === "EventHub", `Reader GET ${seen.kind}`);
  try {
    await reader.dataConnections.beginDeleteAndWait(rg, cluster, db, "eh1", lro);
    fail("a Reader deleted a data connection");
  } catch (e) {
    expect(e.statusCode === 403 && e.code === "AuthorizationFailed", `Reader delete: ${e.statusCode} ${e.code}`);
  }
}

await client.dataConnections.beginDeleteAndWait(rg, cluster, db, "eh1", lro);
try {
  await client.dataConnections.get(rg, cluster, db, "eh1");
  fail("GET after delete succeeded");
} catch (e) {
  expect(e.statusCode === 404, `GET after delete: ${e.statusCode} ${e.message}`);
}
await client.clusters.beginDeleteAndWait(rg, cluster, lro);
console.log("OK");
