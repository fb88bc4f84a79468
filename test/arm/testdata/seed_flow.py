"""The steps of data-connection-python.md against odx, with Debian's
azure-mgmt-kusto 3.1.0b1: the article's calls, adapted only as odx's README
says (endpoint, authority, CA, begin_ prefix). Both credential styles run:
azure-identity (AAD v2) for the cluster and database, and the article's own
adal style through a get_token adapter (AAD v1) for the data connections.

Environment: ODX_URL, ODX_TENANT, ODX_CLIENT_ID, ODX_CLIENT_SECRET,
ODX_SUBSCRIPTION, REQUESTS_CA_BUNDLE; ODX_DATA_PLANE_SETUP=1 makes the
table and CSV mapping through the Kusto data plane (a real odx serve). Exits non-zero with a message on the
first broken expectation; prints OK at the end.
"""
import datetime
import os
import sys
import time

import adal
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.kusto import KustoManagementClient
from azure.mgmt.kusto.models import (AzureSku, Cluster, DataConnectionValidation,
                                     EventGridDataConnection, EventHubDataConnection,
                                     IotHubDataConnection, ReadWriteDatabase)

url = os.environ["ODX_URL"]
tenant_id = os.environ["ODX_TENANT"]
client_id = os.environ["ODX_CLIENT_ID"]
client_secret = os.environ["ODX_CLIENT_SECRET"]
subscription_id = os.environ["ODX_SUBSCRIPTION"]


def expect(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)


class AdalTokenCredential:
    """The seed's adal credentials as an azure-core TokenCredential (AAD v1)."""

    def __init__(self, authority, tenant, client_id, secret):
        self._ctx = adal.AuthenticationContext(f"{authority}/{tenant}", validate_authority=False)
        self._id, self._secret = client_id, secret

    def get_token(self, *scopes, **kwargs):
        resource = scopes[0][:-len(".default")] if scopes[0].endswith("/.default") else scopes[0]
        tok = self._ctx.acquire_token_with_client_credentials(resource, self._id, self._secret)
        return AccessToken(tok["accessToken"], int(time.time()) + int(tok["expiresIn"]))


identity = ClientSecretCredential(tenant_id, client_id, client_secret, authority=url, instance_discovery=False)
setup_client = KustoManagementClient(identity, subscription_id, base_url=url, polling_interval=1)
credentials = AdalTokenCredential(url, tenant_id, client_id, client_secret)
kusto_management_client = KustoManagementClient(credentials, subscription_id, base_url=url, polling_interval=1)

resource_group_name = "testrg"
cluster_name = "mykustocluster"
database_name = "mykustodatabase"
location = "Central US"

# Prerequisites: the cluster and the database.
cluster = setup_client.clusters.begin_create_or_update(
    resource_group_name, cluster_name,
    Cluster(location=location, sku=AzureSku(name="Dev(No SLA)_Standard_E2a_v4", capacity=1, tier="Basic"))).result()
expect(cluster.provisioning_state == "Succeeded" and cluster.state == "Running", f"cluster state {cluster.provisioning_state}/{cluster.state}")
expect(cluster.uri == url, f"cluster uri {cluster.uri} != {url}")
database = setup_client.databases.begin_create_or_update(
    resource_group_name, cluster_name, database_name,
    ReadWriteDatabase(location=location, soft_delete_period=datetime.timedelta(days=365),
                      hot_cache_period=datetime.timedelta(days=31))).result()
expect(type(database).__name__ == "ReadWriteDatabase" and database.kind == "ReadWrite", f"database result {type(database).__name__} kind {database.kind}")
expect(database.soft_delete_period == datetime.timedelta(days=365), f"softDeletePeriod {database.soft_delete_period}")


def kusto_mgmt(command):
    """Runs a management command on the cluster's data plane, the way any
    Kusto client does: token for the advertised KustoServiceResourceId."""
    meta = requests.get(cluster.uri + "/v1/rest/auth/metadata", timeout=30).json()
    token = identity.get_token(meta["AzureAD"]["KustoServiceResourceId"] + "/.default").token
    r = requests.post(cluster.uri + "/v1/rest/mgmt", timeout=30, headers={"Authorization": "Bearer " + token},
                      json={"db": database_name, "csl": command})
    expect(r.status_code == 200, f"{command}: {r.status_code} {r.text[:300]}")


if os.environ.get("ODX_DATA_PLANE_SETUP") == "1":
    # Prerequisite (3) of the article: a table and its CSV mapping.
    kusto_mgmt(".create table StormEvents (StartTime: datetime, EndTime: datetime, State: string, EventType: string)")
    kusto_mgmt(".create table StormEvents ingestion csv mapping 'StormEvents_CSV_Mapping' "
               "'[{\"Name\":\"StartTime\",\"Ordinal\":0},{\"Name\":\"EndTime\",\"Ordinal\":1},"
               "{\"Name\":\"State\",\"Ordinal\":2},{\"Name\":\"EventType\",\"Ordinal\":3}]'")

# The article's three data connections, with its exact model arguments.
consumer_group = "$Default"
table_name = "StormEvents"
mapping_rule_name = "StormEvents_CSV_Mapping"
data_format = "csv"
event_hub_resource_id = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/stormevents"

poller = kusto_management_client.data_connections.begin_create_or_update(
    resource_group_name=resource_group_name, cluster_name=cluster_name, database_name=database_name,
    data_connection_name="myeventhubconnect",
    parameters=EventHubDataConnection(event_hub_resource_id=event_hub_resource_id, consumer_group=consumer_group, location=location,
                                      table_name=table_name, mapping_rule_name=mapping_rule_name, data_format=data_format))
eh = poller.result()
expect(isinstance(eh, EventHubDataConnection) and eh.kind == "EventHub", f"EventHub result {type(eh).__name__} kind {eh.kind}")
expect(eh.provisioning_state == "Succeeded", f"EventHub provisioning state {eh.provisioning_state}")
expect(eh.data_format == "CSV" and eh.compression == "None" and eh.database_routing == "Single", f"EventHub defaults {eh.data_format} {eh.compression} {eh.database_routing}")
expect(eh.retrieval_start_date is not None, "retrievalStartDate filled")
expect(eh.name == f"{cluster_name}/{database_name}/myeventhubconnect", f"name {eh.name}")

storage_account_resource_id = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Storage/storageAccounts/account1"
grid_hub_id = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/blobevents"
eg = kusto_management_client.data_connections.begin_create_or_update(
    resource_group_name=resource_group_name, cluster_name=cluster_name, database_name=database_name,
    data_connection_name="myeventgridconnect",
    parameters=EventGridDataConnection(storage_account_resource_id=storage_account_resource_id, event_hub_resource_id=grid_hub_id,
                                       consumer_group=consumer_group, table_name=table_name, location=location,
                                       mapping_rule_name=mapping_rule_name, data_format=data_format)).result()
expect(isinstance(eg, EventGridDataConnection) and eg.kind == "EventGrid", f"EventGrid result {type(eg).__name__}")

iot_hub_resource_id = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Devices/IotHubs/hub1"
iot = kusto_management_client.data_connections.begin_create_or_update(
    resource_group_name=resource_group_name, cluster_name=cluster_name, database_name=database_name,
    data_connection_name="myiothubconnect",
    parameters=IotHubDataConnection(iot_hub_resource_id=iot_hub_resource_id, shared_access_policy_name="iothubforread",
                                    consumer_group=consumer_group, table_name=table_name, location=location,
                                    mapping_rule_name=mapping_rule_name, data_format=data_format)).result()
expect(isinstance(iot, IotHubDataConnection) and iot.kind == "IotHub", f"IotHub result {type(iot).__name__}")

# Get and list keep the kinds.
got = kusto_management_client.data_connections.get(resource_group_name, cluster_name, database_name, "myeventgridconnect")
expect(isinstance(got, EventGridDataConnection) and got.storage_account_resource_id == storage_account_resource_id, "get EventGrid")
kinds = sorted(c.kind for c in kusto_management_client.data_connections.list_by_database(resource_group_name, cluster_name, database_name))
expect(kinds == ["EventGrid", "EventHub", "IotHub"], f"listed kinds {kinds}")

# Validation, good and bad.
good = kusto_management_client.data_connections.begin_data_connection_validation(
    resource_group_name, cluster_name, database_name,
    DataConnectionValidation(data_connection_name="probe", properties=EventHubDataConnection(
        event_hub_resource_id=event_hub_resource_id, consumer_group="probe-cg", location=location,
        table_name=table_name, mapping_rule_name=mapping_rule_name, data_format=data_format))).result()
expect(good.value == [], f"validation of a good definition: {[v.error_message for v in good.value or []]}")
bad = kusto_management_client.data_connections.begin_data_connection_validation(
    resource_group_name, cluster_name, database_name,
    DataConnectionValidation(data_connection_name="probe", properties=EventHubDataConnection(
        event_hub_resource_id="/not/an/event/hub", consumer_group="probe-cg", location=location,
        table_name="NoSuchTable", data_format=data_format))).result()
messages = [v.error_message for v in bad.value]
expect(any("eventHubResourceId" in m for m in messages) and any("NoSuchTable" in m for m in messages), f"bad validation messages {messages}")

# A PUT with a missing table is refused with the real RP's code.
try:
    kusto_management_client.data_connections.begin_create_or_update(
        resource_group_name, cluster_name, database_name, "badconn",
        EventHubDataConnection(event_hub_resource_id=event_hub_resource_id, consumer_group="other", location=location,
                               table_name="NoSuchTable", data_format=data_format)).result()
    expect(False, "PUT with a missing table succeeded")
except HttpResponseError as e:
    expect(e.status_code == 400 and e.error.code == "EventHubValidationErorFound" and "NoSuchTable" in e.message, f"PUT error {e.status_code} {e.error.code} {e.message}")

# Name check.
taken = kusto_management_client.data_connections.check_name_availability(
    resource_group_name, cluster_name, database_name,
    {"name": "myeventhubconnect", "type": "Microsoft.Kusto/clusters/databases/dataConnections"})
expect(taken.name_available is False and taken.reason == "AlreadyExists", f"name check {taken}")

# A Reader (ODX_READER_ID/SECRET, when the test made one) reads but may not delete.
if os.environ.get("ODX_READER_ID"):
    reader = KustoManagementClient(ClientSecretCredential(tenant_id, os.environ["ODX_READER_ID"], os.environ["ODX_READER_SECRET"],
                                                          authority=url, instance_discovery=False),
                                   subscription_id, base_url=url, polling_interval=1)
    seen = reader.data_connections.get(resource_group_name, cluster_name, database_name, "myeventhubconnect")
    expect(seen.kind == "EventHub", f"Reader GET {seen.kind}")
    try:
        reader.data_connections.begin_delete(resource_group_name, cluster_name, database_name, "myeventhubconnect").result()
        expect(False, "a Reader deleted a data connection")
    except HttpResponseError as e:
        expect(e.status_code == 403 and e.error.code == "AuthorizationFailed", f"Reader delete: {e.status_code} {e.error.code}")

# Delete, then 404.
kusto_management_client.data_connections.begin_delete(resource_group_name, cluster_name, database_name, "myeventhubconnect").result()
try:
    kusto_management_client.data_connections.get(resource_group_name, cluster_name, database_name, "myeventhubconnect")
    expect(False, "GET after delete succeeded")
except ResourceNotFoundError:
    pass
print("OK")
