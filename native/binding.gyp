{
  "targets": [
    {
      "target_name": "engram_native",
      "sources": ["src/addon.c", "src/args.c", "src/gemm.c", "src/copy.c", "src/elementwise.c", "src/fused.c", "src/attention.c", "src/optim.c", "src/rows.c", "src/host_tables.c", "src/engram_gate.c", "src/parallel.c"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I openblas | sed 's/-I//g')"],
      "libraries": [
        "<!@(pkg-config --libs openblas)",
        "-Wl,-rpath,<!@(pkg-config --variable=libdir openblas)",
        "-lpthread"
      ],
      "cflags": ["-O3", "-std=c11", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function", "-Wno-psabi"],
      "cflags!": ["-O2", "-O1"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "GCC_C_LANGUAGE_STANDARD": "c11",
        "OTHER_CFLAGS": ["-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function"]
      },
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NG_SOURCES_HASH=<!(node sources-hash.mjs)"]
    }
  ]
}
