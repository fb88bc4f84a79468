"""The Event Grid steps of data-connection-python.md against a real odx:
cluster and database, then EventGridDataConnection through
data_connections.begin_create_or_update, with azure-mgmt-kusto from Debian's
python3-azure and service principal credentials from odx's token endpoint.
The only changes to the article are the ones odx's README names: endpoint,
authority, CA bundle and the SDK's begin_ prefix.

Environment: ODX_URL, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
ODX_SUBSCRIPTION, ODX_STORAGE_ACCOUNT (the account odx's config binds to
Azurite), REQUESTS_CA_BUNDLE; ODX_SETUP_COMMANDS: management commands, one a
line, run on the Kusto data plane before the connections are made (the
article's prerequisite tables). Prints one line per connection
("<name> <kind> <provisioning state>") and exits non-zero on any error.
"""
import datetime
import os

import requests

from azure.identity import ClientSecretCredential
from azure.mgmt.kusto import KustoManagementClient
from azure.mgmt.kusto.models import AzureSku, Cluster, EventGridDataConnection, ReadWriteDatabase

url = os.environ["ODX_URL"]
tenant_id = os.environ["AZURE_TENANT_ID"]
client_id = os.environ["AZURE_CLIENT_ID"]
client_secret = os.environ["AZURE_CLIENT_SECRET"]
subscription_id = os.environ["ODX_SUBSCRIPTION"]
storage_account = os.environ["ODX_STORAGE_ACCOUNT"]

credentials = ClientSecretCredential(tenant_id, client_id, client_secret, authority=url, instance_discovery=False)
kusto_management_client = KustoManagementClient(credentials, subscription_id, base_url=url, polling_interval=1)

resource_group_name = "testrg"
cluster_name = "mykustocluster"
database_name = "landing"
location = "Central US"
kusto_management_client.clusters.begin_create_or_update(
    resource_group_name, cluster_name,
    Cluster(location=location, sku=AzureSku(name="Dev(No SLA)_Standard_E2a_v4", capacity=1, tier="Basic"))).result()
kusto_management_client.databases.begin_create_or_update(
    resource_group_name, cluster_name, database_name,
    ReadWriteDatabase(location=location, soft_delete_period=datetime.timedelta(days=365))).result()

# The article's prerequisites (tables, mappings) through the Kusto data plane.
data_endpoint = os.environ.get("ODX_DATA_ENDPOINT", url)
data_token = credentials.get_token(data_endpoint + "/.default").token
for command in filter(None, os.environ.get("ODX_SETUP_COMMANDS", "").splitlines()):
    requests.post(url + "/v1/rest/mgmt", json={"db": database_name, "csl": command},
                  headers={"Authorization": "Bearer " + data_token}, timeout=60).raise_for_status()

# The article's EventGrid step: the event hub Event Grid sends the storage
# account's events to, and the storage account holding the blobs.
storage_account_resource_id = (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}"
                               f"/providers/Microsoft.Storage/storageAccounts/{storage_account}")
event_hub_namespace = (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}"
                       f"/providers/Microsoft.EventHub/namespaces/gridns/eventhubs/")
consumer_group = "$Default"
connections = [
    # Blob created events into Events (CSV), the article's call as written.
    ("blobcreated", dict(event_hub_resource_id=event_hub_namespace + "blob-created", table_name="Events", data_format="csv")),
    # Renamed blobs (ADLS Gen2 RenameFile), each with a header line.
    ("blobrenamed", dict(event_hub_resource_id=event_hub_namespace + "blob-renamed", table_name="Events", data_format="csv",
                         blob_storage_event_type="Microsoft.Storage.BlobRenamed", ignore_first_record=True)),
]
extra = os.environ.get("ODX_EXTRA_CONNECTION")  # "<name>,<hub>,<table>": one more BlobCreated CSV connection
if extra:
    name, hub, table = extra.split(",")
    connections.append((name, dict(event_hub_resource_id=event_hub_namespace + hub, table_name=table, data_format="csv")))

for data_connection_name, props in connections:
    poller = kusto_management_client.data_connections.begin_create_or_update(
        resource_group_name=resource_group_name, cluster_name=cluster_name, database_name=database_name,
        data_connection_name=data_connection_name,
        parameters=EventGridDataConnection(storage_account_resource_id=storage_account_resource_id,
                                           consumer_group=consumer_group, location=location, **props))
    connection = poller.result()
    if not isinstance(connection, EventGridDataConnection):
        raise SystemExit(f"{data_connection_name}: the service answered a {type(connection).__name__}")
    print(data_connection_name, connection.kind, connection.provisioning_state)
