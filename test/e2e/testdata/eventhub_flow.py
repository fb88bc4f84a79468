"""The Event Hub steps of data-connection-python.md against a real odx serve,
with Debian's azure-mgmt-kusto: cluster, database, the StormEvents table and
its CSV mapping (through the Kusto data plane), then an Event Hub data
connection on the embedded event hub. Prints OK at the end; the Go test then
produces CSV events and queries the rows back.

Environment: ODX_URL, ODX_TENANT, ODX_CLIENT_ID, ODX_CLIENT_SECRET,
ODX_SUBSCRIPTION, REQUESTS_CA_BUNDLE.
"""
import os
import sys

import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.kusto import KustoManagementClient
from azure.mgmt.kusto.models import AzureSku, Cluster, EventHubDataConnection, ReadWriteDatabase

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

event_hub_resource_id = (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}"
                         "/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/stormevents")
eh = client.data_connections.begin_create_or_update(
    resource_group_name=resource_group_name, cluster_name=cluster_name, database_name=database_name,
    data_connection_name="myeventhubconnect",
    parameters=EventHubDataConnection(event_hub_resource_id=event_hub_resource_id, consumer_group="$Default", location=location,
                                      table_name="StormEvents", mapping_rule_name="StormEvents_CSV_Mapping",
                                      data_format="csv")).result()
expect(isinstance(eh, EventHubDataConnection) and eh.provisioning_state == "Succeeded", f"data connection {eh}")
print("OK")
