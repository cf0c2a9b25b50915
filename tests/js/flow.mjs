import taskcluster from 'taskcluster-client';
const rootUrl = process.env.TASKCLUSTER_ROOT_URL;
const credentials = {clientId: process.env.TASKCLUSTER_CLIENT_ID, accessToken: process.env.TASKCLUSTER_ACCESS_TOKEN};
const queue = new taskcluster.Queue({rootUrl, credentials});
const anon = new taskcluster.Queue({rootUrl});
const taskId = taskcluster.slugid();
const out = {};
out.ping = await queue.ping();
const created = await queue.createTask(taskId, {
  taskQueueId: 'proj/js', created: taskcluster.fromNowJSON('0 seconds'), deadline: taskcluster.fromNowJSON('1 hour'),
  payload: {command: ['true'], maxRunTime: 60},
  metadata: {name: 'js', description: 'from the JS client', owner: 'js@example.com', source: 'https://example.com/js'}});
out.createdState = created.status.state;
out.status = (await anon.status(taskId)).status.state;
const claim = await queue.claimWork('proj/js', {workerGroup: 'g', workerId: 'w', tasks: 1});
const worker = new taskcluster.Queue({rootUrl, credentials: claim.tasks[0].credentials});
const art = await worker.createArtifact(taskId, 0, 'private/x.txt', {storageType: 's3', contentType: 'text/plain', expires: taskcluster.fromNowJSON('1 day')});
const put = await fetch(art.putUrl, {method: 'PUT', body: 'hello js', headers: {'Content-Type': 'text/plain'}});
out.put = put.status;
out.reclaim = typeof (await worker.reclaimTask(taskId, 0)).takenUntil;
out.completed = (await worker.reportCompleted(taskId, 0)).status.state;
out.list = (await anon.listLatestArtifacts(taskId)).artifacts.map(a => a.name);
try { await anon.getLatestArtifact(taskId, 'private/x.txt'); } catch (e) { out.anonCode = e.code; out.anonStatus = e.statusCode; }
const signed = queue.buildSignedUrl(queue.getLatestArtifact, taskId, 'private/x.txt', {expiration: 60});
out.signed = await (await fetch(signed)).text();
try { await queue.createTask(taskcluster.slugid(), {bad: 1}); } catch (e) { out.badCode = e.code; }
console.log(JSON.stringify(out));
