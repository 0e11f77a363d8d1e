// A customer's SMPP client built on node-smpp (a different implementation than ours): binds to
// smppgw, submits messages asking for receipts, and checks every receipt comes back with the
// message id smppgw gave in submit_sm_resp. Prints one JSON summary line; exit 0 on success.
//
//   node node_esme.js --url smpp://127.0.0.1:PORT --system-id ID --password PW [--count N]
//                     [--timeout-ms T] [--bind transceiver|transmitter] [--long]
//                     [--ca FILE]   (with an ssmpp:// url: the CA that verifies smppgw as localhost)
'use strict';
const smpp = require('smpp');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const count = parseInt(args.count || '10', 10);
const timeoutMs = parseInt(args['timeout-ms'] || '20000', 10);
const summary = { bound: false, submitted: 0, accepted: 0, rejected: {}, receipts: 0,
                  receipts_matched: 0, receipts_unknown: 0, mo: 0, errors: [] };
const ids = new Set();

const finish = (ok) => {
  summary.ok = ok;
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exit(ok ? 0 : 1);
};
const timer = setTimeout(() => { summary.errors.push('timeout'); finish(false); }, timeoutMs);

const options = { url: args.url, auto_enquire_link_period: 0 };
if (args.ca) {
  options.ca = require('fs').readFileSync(args.ca);
  options.servername = 'localhost';
}
const session = smpp.connect(options);
session.on('error', (e) => { summary.errors.push(String(e)); clearTimeout(timer); finish(false); });
session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  if ((pdu.esm_class & 0x3c) === 0x04) {
    summary.receipts++;
    const id = pdu.receipted_message_id ||
      (String(pdu.short_message && pdu.short_message.message || '').match(/id:(\S+)/) || [])[1];
    if (ids.has(id)) summary.receipts_matched++; else summary.receipts_unknown++;
  } else {
    summary.mo++;
  }
  maybeDone();
});

function maybeDone() {
  if (summary.submitted === count && summary.accepted + Object.values(summary.rejected)
      .reduce((a, b) => a + b, 0) === count && summary.receipts_matched >= summary.accepted) {
    session.unbind(() => { clearTimeout(timer); session.close(); finish(summary.accepted === count); });
  }
}

const bind = args.bind === 'transmitter' ? 'bind_transmitter' : 'bind_transceiver';
session[bind]({ system_id: args['system-id'], password: args.password, interface_version: 0x34 }, (pdu) => {
  if (pdu.command_status !== 0) {
    summary.errors.push('bind failed: ' + pdu.command_status);
    clearTimeout(timer);
    return finish(false);
  }
  summary.bound = true;
  for (let i = 0; i < count; i++) {
    summary.submitted++;
    const msg = {
      source_addr: '447700900001', source_addr_ton: 1, source_addr_npi: 1,
      destination_addr: '4477009' + String(10000 + i), dest_addr_ton: 1, dest_addr_npi: 1,
      registered_delivery: 1,
      short_message: args.long ? 'x'.repeat(140) + ' message ' + i : 'interop message ' + i,
    };
    session.submit_sm(msg, (resp) => {
      if (resp.command_status === 0) {
        summary.accepted++;
        ids.add(resp.message_id);
      } else {
        summary.rejected[resp.command_status] = (summary.rejected[resp.command_status] || 0) + 1;
      }
      maybeDone();
    });
  }
});
