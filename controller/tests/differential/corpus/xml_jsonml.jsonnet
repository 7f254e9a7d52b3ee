{ out: std.manifestXmlJsonml(['svg', { height: 100, width: '1' }, ['circle', { cx: 50, fill: 'red' }], 'text & <stuff>']) }
