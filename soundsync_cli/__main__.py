from soundsync_cli.main import main

raise SystemExit(main())
