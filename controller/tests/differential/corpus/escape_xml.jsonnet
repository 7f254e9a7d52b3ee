{ out: [std.escapeStringXML(s) for s in ['<a href="x">', "it's & more", 'plain']] }
