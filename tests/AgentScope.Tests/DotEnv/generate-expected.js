// Regenerates the expected outputs from the reference implementation, the `dotenv` npm package:
//   cd "$(mktemp -d)" && npm install dotenv && NODE_PATH="$PWD/node_modules" node <path to this file>
// Writes Corpus/<name>.expected.json for every Corpus/<name>.env, and Corpus/generated.json: seeded random inputs
// built from the tokens that stress the grammar, each with dotenv's parse of it. All outputs are committed, so the
// tests need neither Node nor the package.
const fs = require('fs')
const path = require('path')
const dotenv = require('dotenv')

const generator = `dotenv ${require('dotenv/package.json').version} parse() on node ${process.version}`
const dir = path.join(__dirname, 'Corpus')
for (const name of fs.readdirSync(dir).filter(n => n.endsWith('.env')).sort()) {
  const entries = dotenv.parse(fs.readFileSync(path.join(dir, name)))
  fs.writeFileSync(path.join(dir, name.replace(/\.env$/, '.expected.json')), JSON.stringify({ generator, entries }, null, 2) + '\n')
  console.log(name, Object.keys(entries).length)
}

// A small deterministic PRNG (mulberry32), so the generated inputs are the same on every run.
let seed = 20240601
function random () {
  seed = (seed + 0x6D2B79F5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = a => a[Math.floor(random() * a.length)]
const keys = ['A', 'B_2', 'key.dot', 'k-dash', 'DUP', 'DUP', '_U', '9']
const pieces = ['x', 'value', ' ', '  ', '\t', '#', ' #c', '"', "'", '`', '\\', '\\n', '\\r', '\\"', "\\'", '=', ':', ': ',
  '\n', '\n', '\r\n', '\r', 'export ', '\u00a0', '\u2028', '\ufeff', 'é', '$X', '{}', '""', "''", '``']
const cases = []
for (let i = 0; i < 400; i++) {
  let text = ''
  const lines = 1 + Math.floor(random() * 5)
  for (let l = 0; l < lines; l++) {
    if (random() < 0.2) text += pick(['# comment', '', '   ', 'export ', 'garbage line'])
    else {
      if (random() < 0.2) text += pick([' ', 'export ', '\t'])
      text += pick(keys) + pick(['=', ' = ', '=', ': ', ':', '='])
      const n = Math.floor(random() * 6)
      for (let p = 0; p < n; p++) text += pick(pieces)
    }
    text += pick(['\n', '\n', '\n', '\r\n', ''])
  }
  cases.push({ input: text, entries: dotenv.parse(text) })
}
fs.writeFileSync(path.join(dir, 'generated.json'), JSON.stringify({ generator, cases }, null, 1) + '\n')
console.log('generated.json', cases.length)
