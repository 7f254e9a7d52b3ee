{ out: std.manifestJsonEx(std.parseYaml('lit: |\n  line1\n  line2\nfold: >\n  a\n  b\nkeep: |+\n  x\n\nstrip: |-\n  y\n'), ' ') }
