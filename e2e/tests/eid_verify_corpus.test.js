// The desk's offline verifier (crates/web/static/eid-verify.js) against the
// format's test corpus (crates/eid/tests/corpus, docs/eid-format.md §9): every
// file must get the code its name gives, as shengshi-eid does — except the
// SM2 code, which the browser cannot check and refuses as `sm2_unsupported`,
// and a stale list, which the desk reports as `status_stale` (its kind of
// `status_unknown`). Runs in Node's WebCrypto; no browser, no server.

import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { before, describe, it } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const corpus = path.join(root, 'crates/eid/tests/corpus');

describe('offline verifier (eid-verify.js) on the e-ID corpus', () => {
  let E;
  let files;

  before(async () => {
    vm.runInThisContext(await readFile(path.join(root, 'crates/web/static/eid-verify.js'), 'utf8'));
    E = globalThis.ShengshiEid;
    const bytes = async (name) => new Uint8Array(await readFile(path.join(corpus, name)));
    files = {
      trustList: await bytes('trust-list.cose'),
      status: await bytes('status-list.cose'),
      stale: await bytes('status-list-stale.cose'),
      root: (await readFile(path.join(corpus, 'trust-root.pub'), 'utf8')).trim(),
      now: Number((await readFile(path.join(corpus, 'now.txt'), 'utf8')).trim()),
    };
  });

  async function outcome(file) {
    const text = (await readFile(file, 'utf8')).replace(/\n$/, '');
    const variants = path.basename(file, '.txt').split('.').slice(1);
    const expect = variants.find((v) => v.startsWith('expect_'));
    let statusList = files.status;
    if (variants.includes('no_list')) statusList = null;
    if (variants.includes('stale_list')) statusList = files.stale;
    try {
      await E.verify(text, {
        trustList: files.trustList,
        statusList,
        root: files.root,
        now: files.now,
        expectedPurpose: expect ? expect.slice('expect_'.length) : undefined,
      });
      return 'valid';
    } catch (e) {
      return e.code || String(e);
    }
  }

  for (const dir of ['', 'ss2']) {
    it(`gives each case of corpus/${dir} its code`, async () => {
      const names = (await readdir(path.join(corpus, dir))).filter((n) => n.endsWith('.txt') && n !== 'now.txt');
      assert.ok(names.length > 20, `the corpus has cases: ${names.length}`);
      const wrong = [];
      for (const name of names) {
        let expected = name.split('.')[0];
        if (name === 'valid.sm2.txt') expected = 'sm2_unsupported';
        if (name.includes('stale_list')) expected = 'status_stale';
        const got = await outcome(path.join(corpus, dir, name));
        if (got !== expected) wrong.push(`${name}: ${got}`);
      }
      assert.deepEqual(wrong, []);
    });
  }

  it('refuses a trust list under another root, and an expired one', async () => {
    const code = (await readFile(path.join(corpus, 'valid.ed25519.txt'), 'utf8')).trim();
    const other = `ed25519:${'11'.repeat(32)}`;
    await assert.rejects(
      E.verify(code, { trustList: files.trustList, statusList: files.status, root: other, now: files.now }),
      (e) => e.code === 'unknown_kid' || e.code === 'wrong_type',
    );
    const json = JSON.parse(await readFile(path.join(corpus, 'trust-list.json'), 'utf8'));
    await assert.rejects(
      E.verify(code, { trustList: files.trustList, statusList: files.status, root: files.root, now: json.exp }),
      (e) => e.code === 'no_lists',
    );
  });
});
