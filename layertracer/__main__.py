from layertracer.cli import main

raise SystemExit(main())
