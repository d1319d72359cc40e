// Run by the compose job `mongo-init` (mongosh --nodb): initiates the one-member replica set
// `rs0` (scoring writes each batch and its offsets in one transaction, and MongoDB transactions
// need a replica set) and creates the application user `kpi` (readWrite on the `kpi` database
// only). Idempotent: an initiated set is left alone and an existing user gets its password reset
// to KPI_MONGO_PASSWORD. Passwords come from the environment (deploy/compose/.env).
const conn = new Mongo("mongodb://mongo:27017/?directConnection=true");
const admin = conn.getDB("admin");
admin.auth("root", process.env.MONGO_ROOT_PASSWORD);

const status = admin.runCommand({ replSetGetStatus: 1 });
if (status.ok !== 1) {
  print(`initiating replica set rs0 (${status.codeName})`);
  const result = admin.runCommand({
    replSetInitiate: { _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] },
  });
  if (result.ok !== 1 && result.codeName !== "AlreadyInitialized") {
    throw new Error(`replSetInitiate failed: ${tojson(result)}`);
  }
}

for (let waited = 0; !admin.runCommand({ hello: 1 }).isWritablePrimary; waited += 1) {
  if (waited > 120) throw new Error("rs0 elected no primary within 60 s");
  sleep(500);
}

const password = process.env.KPI_MONGO_PASSWORD;
if (!password) throw new Error("KPI_MONGO_PASSWORD is not set");
const roles = [{ role: "readWrite", db: "kpi" }];
if (admin.getUser("kpi")) {
  admin.updateUser("kpi", { pwd: password, roles });
  print("user kpi updated");
} else {
  admin.createUser({ user: "kpi", pwd: password, roles });
  print("user kpi created");
}
