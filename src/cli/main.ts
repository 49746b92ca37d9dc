#!/usr/bin/env node
console.log('pqzk');
