"""The REST API's foundation: personal API tokens, scopes, tenant resolution, errors and throttles."""
