{ app: 'golden' }
