{ out: error 'custom failure' }
