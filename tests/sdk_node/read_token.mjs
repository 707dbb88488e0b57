// Reads one tenant's token the way an application on Zoho's official Node SDK does: the SDK's own
// DBStore (built with its DBBuilder) and its own lookup, findTokenById. Prints what the SDK found
// as JSON on stdout. Input: ZOHO_AUTH_TEST_MYSQL_URL (the MariaDB test server), ZOHO_AUTH_SDK_TENANT.
import * as ZOHOCRMSDK from "@zohocrm/nodejs-sdk-8.0";

const url = new URL(process.env.ZOHO_AUTH_TEST_MYSQL_URL);
const tenant = process.env.ZOHO_AUTH_SDK_TENANT;

const store = new ZOHOCRMSDK.DBBuilder()
  .host(url.hostname)
  .databaseName(decodeURIComponent(url.pathname.slice(1)))
  .tableName("oauthtoken")
  .userName(decodeURIComponent(url.username))
  .password(decodeURIComponent(url.password))
  .portNumber(url.port)
  .build();

const token = await store.findTokenById(tenant);
const signature = token.getUserSignature();
process.stdout.write(
  JSON.stringify({
    id: token.getId(),
    user_name: signature == null ? null : signature.getName(),
    client_id: token.getClientId(),
    client_secret: token.getClientSecret(),
    refresh_token: token.getRefreshToken(),
    access_token: token.getAccessToken(),
    expiry_time: token.getExpiresIn(),
    api_domain: token.getAPIDomain(),
  }) + "\n",
);
