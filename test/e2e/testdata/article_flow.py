"""The steps of data-connection-python.md against a real odx serve, with
Debian's azure-mgmt-kusto: cluster, database, the StormEvents table and its
CSV mapping (through the Kusto data plane), then one data connection of the
kind ODX_CONNECTION_KIND names: EventHub (default; the embedded event hub
"stormevents") or IotHub (the embedded IoT hub "building"). Prints OK at the
end; the Go test then sends CSV events (kcat, mosquitto_pub) and queries the
rows back.

Environment: ODX_URL, ODX_TENANT, ODX_CLIENT_ID, ODX_CLIENT_SECRET,
ODX_SUBSCRIPTION, REQUESTS_CA_BUNDLE, ODX_CONNECTION_KIND.
"""
import os
import sys

import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.kusto import KustoManagementClient
from azure.mgmt.kusto.models import AzureSku, Cluster, EventHubDataConnection, IotHubDataConnection, ReadWriteDatabase

url = os.environ["ODX_URL"]
subscription_id = os.environ["ODX_SUBSCRIPTION"]
credential = ClientSecretCredential(os.environ["ODX_TENANT"], os.environ["ODX_CLIENT_ID"], os.environ["ODX_CLIENT_SECRET"],
                                    authority=url, instance_discovery=False)
client = KustoManagementClient(credential, subscription_id, base_url=url, polling_interval=1)

resource_group_name = "testrg"
cluster_name = "mykustocluster"
database_name = "mykustodatabase"
location = "Central US"


def expect(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)


cluster = client.clusters.begin_create_or_update(
    resource_group_name, cluster_name,
    Cluster(location=location, sku=AzureSku(name="Dev(No SLA)_Standard_E2a_v4", capacity=1, tier="Basic"))).result()
client.databases.begin_create_or_update(resource_group_name, cluster_name, database_name, ReadWriteDatabase(location=location)).result()


def kusto_mgmt(command):
    meta = requests.get(cluster.uri + "/v1/rest/auth/metadata", timeout=30).json()
    token = credential.get_token(meta["AzureAD"]["KustoServiceResourceId"] + "/.default").token
    r = requests.post(cluster.uri + "/v1/rest/mgmt", timeout=30, headers={"Authorization": "Bearer " + token},
                      json={"db": database_name, "csl": command})
    expect(r.status_code == 200, f"{command}: {r.status_code} {r.text[:300]}")


kusto_mgmt(".create table StormEvents (StartTime: datetime, EndTime: datetime, State: string, EventType: string)")
kusto_mgmt(".create table StormEvents ingestion csv mapping 'StormEvents_CSV_Mapping' "
           "'[{\"Name\":\"StartTime\",\"Ordinal\":0},{\"Name\":\"EndTime\",\"Ordinal\":1},"
           "{\"Name\":\"State\",\"Ordinal\":2},{\"Name\":\"EventType\",\"Ordinal\":3}]'")

kind = os.environ.get("ODX_CONNECTION_KIND", "EventHub")
resource_prefix = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers"
if kind == "EventHub":
    name = "myeventhubconnect"
    parameters = EventHubDataConnection(event_hub_resource_id=f"{resource_prefix}/Microsoft.EventHub/namespaces/ns1/eventhubs/stormevents",
                                        consumer_group="$Default", location=location, table_name="StormEvents",
                                        mapping_rule_name="StormEvents_CSV_Mapping", data_format="csv")
elif kind == "IotHub":
    name = "myiothubconnect"
    parameters = IotHubDataConnection(iot_hub_resource_id=f"{resource_prefix}/Microsoft.Devices/IotHubs/building",
                                      shared_access_policy_name="iothubowner", consumer_group="$Default", location=location,
                                      table_name="StormEvents", mapping_rule_name="StormEvents_CSV_Mapping", data_format="csv")
else:
    expect(False, f"unknown ODX_CONNECTION_KIND {kind}")

connection = client.data_connections.begin_create_or_update(
    resource_group_name=resource_group_name, cluster_name=cluster_name, database_name=database_name,
    data_connection_name=name, parameters=parameters).result()
expect(connection.kind == kind and connection.provisioning_state == "Succeeded", f"data connection {connection}")
print("OK")
