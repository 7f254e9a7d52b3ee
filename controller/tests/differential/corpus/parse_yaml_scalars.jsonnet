{ out: std.manifestJsonEx(std.parseYaml('s1: yes\ns2: no\ns3: on\ns4: ~\ns5: 0x1F\ns6: 0o10\ns7: 1e3\ns8: -.5\ns9: "123"\ns10: 2001-12-14\ns11: True\n'), ' ') }
