// Object artifacts through the JS client's own helpers: a task's run uploads a
// small file (sent inline) and a larger one (PUT to a URL) with `upload`, the
// queue's finishArtifact completes each, and `downloadArtifact` reads them back
// (anonymously for the public one, with credentials for the private one).
import {Readable, Writable} from 'node:stream';
import taskcluster from 'taskcluster-client';

const rootUrl = process.env.TASKCLUSTER_ROOT_URL;
const credentials = {clientId: process.env.TASKCLUSTER_CLIENT_ID, accessToken: process.env.TASKCLUSTER_ACCESS_TOKEN};
const queue = new taskcluster.Queue({rootUrl, credentials});
const anon = new taskcluster.Queue({rootUrl});
const taskId = taskcluster.slugid();
await queue.createTask(taskId, {
  taskQueueId: 'proj/js-objects', created: taskcluster.fromNowJSON('0 seconds'), deadline: taskcluster.fromNowJSON('1 hour'),
  payload: {command: ['true'], maxRunTime: 60},
  metadata: {name: 'js objects', description: 'object artifacts from the JS client', owner: 'js@example.com', source: 'https://example.com/js'}});
const claim = await queue.claimWork('proj/js-objects', {workerGroup: 'g', workerId: 'w', tasks: 1});
const worker = new taskcluster.Queue({rootUrl, credentials: claim.tasks[0].credentials});

const files = {'public/small.txt': Buffer.from('small, sent inline\n'), 'private/large.bin': Buffer.alloc(100000, 7)};
const out = {created: {}, downloaded: {}};
for (const [name, data] of Object.entries(files)) {
  const created = await worker.createArtifact(taskId, 0, name, {storageType: 'object', contentType: 'application/octet-stream', expires: taskcluster.fromNowJSON('1 day')});
  out.created[name] = Object.keys(created).sort();
  const object = new taskcluster.Object({rootUrl, credentials: created.credentials});
  await taskcluster.upload({
    projectId: created.projectId, name: created.name, contentType: 'application/octet-stream',
    contentLength: data.length, expires: created.expires, uploadId: created.uploadId, object,
    streamFactory: async () => Readable.from([data]), retries: 0});
  await worker.finishArtifact(taskId, 0, name, {uploadId: created.uploadId});
}
await worker.reportCompleted(taskId, 0);

const collect = (chunks) => async () => { chunks.length = 0; return new Writable({write(chunk, _enc, done) { chunks.push(chunk); done(); }}); };
for (const [name, data] of Object.entries(files)) {
  const chunks = [];
  const reader = name.startsWith('public/') ? anon : queue;
  const contentType = await taskcluster.downloadArtifact({taskId, name, queue: reader, streamFactory: collect(chunks), retries: 0});
  out.downloaded[name] = {same: Buffer.concat(chunks).equals(data), contentType};
}
out.storage = (await anon.listLatestArtifacts(taskId)).artifacts.map(a => [a.name, a.storageType, 'contentLength' in a]);
console.log(JSON.stringify(out));
