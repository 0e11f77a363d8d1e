// A carrier's MC built on node-smpp: accepts smppgw's bind, answers submit_sm with its own ids
// and sends a delivery receipt (text + TLVs) for each, then waits for deliver_sm_resp. Writes
// its port to --port-file once listening; prints a JSON summary on SIGTERM.
//
//   node node_mc.js --port-file PATH [--system-id ID --password PW]
'use strict';
const smpp = require('smpp');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const summary = { binds: 0, bind_refused: 0, submits: 0, receipts_sent: 0, receipts_acked: 0,
                  errors: [] };
let nextId = 5000000;

const server = smpp.createServer((session) => {
  session.on('error', (e) => summary.errors.push(String(e)));
  const onBind = (pdu) => {
    if (args['system-id'] && (pdu.system_id !== args['system-id'] || pdu.password !== args.password)) {
      summary.bind_refused++;
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      return;
    }
    summary.binds++;
    session.send(pdu.response({ system_id: 'node-mc' }));
  };
  session.on('bind_transceiver', onBind);
  session.on('bind_transmitter', onBind);
  session.on('bind_receiver', onBind);
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => { session.send(pdu.response()); session.close(); });
  session.on('submit_sm', (pdu) => {
    summary.submits++;
    const id = String(nextId++);
    session.send(pdu.response({ message_id: id }));
    if (pdu.registered_delivery & 0x03) {
      const text = 'id:' + id + ' sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 ' +
                   'stat:DELIVRD err:000 text:hello';
      session.deliver_sm({
        source_addr: pdu.destination_addr, source_addr_ton: pdu.dest_addr_ton, source_addr_npi: pdu.dest_addr_npi,
        destination_addr: pdu.source_addr, dest_addr_ton: pdu.source_addr_ton, dest_addr_npi: pdu.source_addr_npi,
        esm_class: 0x04, short_message: text, receipted_message_id: id, message_state: 2,
      }, (resp) => { if (resp.command_status === 0) summary.receipts_acked++; });
      summary.receipts_sent++;
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  if (args['port-file']) fs.writeFileSync(args['port-file'] + '.tmp', String(port) + '\n');
  if (args['port-file']) fs.renameSync(args['port-file'] + '.tmp', args['port-file']);
});
const stop = () => { process.stdout.write(JSON.stringify(summary) + '\n'); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
