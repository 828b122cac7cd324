"""Local fakes of the HTTP services CS Analytics talks to (Salesforce, Metabase), started by
tests on 127.0.0.1 and reached by the real client libraries through `route_to`."""
