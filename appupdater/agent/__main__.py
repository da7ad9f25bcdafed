from appupdater.agent.server import main

raise SystemExit(main())
