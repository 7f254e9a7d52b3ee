{ out: ['tab\tq"bs\\nl\nctrl\u0001\u001fdel\u007fé😀\u2028\u2029', "single 'quoted'", @'verbatim \n', |||
    text block
      indented
  |||] }
