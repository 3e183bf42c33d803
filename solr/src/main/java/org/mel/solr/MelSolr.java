package org.mel.solr;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Runs a real Apache Solr node (standalone, single core {@code ckan}) on 127.0.0.1 for CKAN.
 *
 * <p>Usage: {@code java -jar mel-solr.jar --home DIR [--port 8983] --schema CKAN_SCHEMA.xml}
 * (or the system properties {@code mel.solr.home}, {@code mel.solr.port}, {@code
 * mel.solr.schema}).
 *
 * <p>On every start it (re)writes {@code DIR/solr.xml} and {@code DIR/ckan/{core.properties,conf/}}
 * (the index in {@code DIR/ckan/data} is kept), with {@code conf/schema.xml} = the given CKAN schema
 * extended with what ckanext-spatial needs (solr-bbox and solr-spatial-field backends). It then
 * starts Solr through {@code org.apache.solr.embedded.JettySolrRunner} (which mounts solr-core's
 * {@code SolrDispatchFilter} exactly like Solr's web.xml), checks that the core loaded, prints one
 * "ready" line and blocks until the JVM is told to stop.
 *
 * <p>Exit codes: 2 bad arguments/files, 3 port in use, 4 Solr or the core failed to start.
 *
 * <p>No Solr/Log4j class is touched before the system properties they read at class-init time
 * (solr.log.dir, log4j2.configurationFile, ...) are set; keep it that way (no static Logger here).
 */
public final class MelSolr {

  static final String CORE = "ckan";
  static final String CONTEXT = "/solr";
  static final String HOST = "127.0.0.1";

  /** Strong reference, else java.util.logging may forget the level set on it. */
  private static final java.util.logging.Logger JUL_QUIET =
      java.util.logging.Logger.getLogger("org.glassfish.jersey");

  private MelSolr() {}

  public static void main(String[] args) {
    Map<String, String> opts;
    try {
      opts = parseArgs(args);
    } catch (IllegalArgumentException e) {
      System.err.println("mel-solr: " + e.getMessage());
      System.err.println(usage());
      System.exit(2);
      return;
    }
    if (opts.containsKey("help")) {
      System.out.println(usage());
      return;
    }

    String homeArg = opt(opts, "home", "mel.solr.home", null);
    String schemaArg = opt(opts, "schema", "mel.solr.schema", null);
    String portArg = opt(opts, "port", "mel.solr.port", "8983");
    if (homeArg == null || schemaArg == null) {
      System.err.println("mel-solr: --home and --schema are required");
      System.err.println(usage());
      System.exit(2);
      return;
    }
    int port;
    try {
      port = Integer.parseInt(portArg.trim());
      if (port < 1 || port > 65535) throw new NumberFormatException();
    } catch (NumberFormatException e) {
      System.err.println("mel-solr: bad port: " + portArg);
      System.exit(2);
      return;
    }
    Path home = Path.of(homeArg).toAbsolutePath().normalize();
    Path schema = Path.of(schemaArg).toAbsolutePath().normalize();
    if (!Files.isRegularFile(schema)) {
      System.err.println("mel-solr: CKAN schema not found: " + schema);
      System.exit(2);
      return;
    }

    // Fail fast (and clearly) if the port is taken, before Solr spends seconds booting.
    if (!portFree(port)) {
      System.err.println(
          "mel-solr: port " + port + " on " + HOST + " is already in use; set MEL_SOLR_PORT");
      System.exit(3);
      return;
    }

    Path logDir =
        Path.of(System.getProperty("solr.log.dir", home.resolve("logs").toString()))
            .toAbsolutePath()
            .normalize();
    try {
      Files.createDirectories(logDir);
      generateHome(home, schema);
    } catch (Exception e) {
      System.err.println("mel-solr: cannot prepare Solr home " + home + ": " + e);
      e.printStackTrace();
      System.exit(2);
      return;
    }

    // System properties read by Solr / Log4j2 during class initialisation: set them first.
    setDefault("solr.log.dir", logDir.toString());
    setDefault("log4j2.configurationFile", "mel-solr-log4j2.xml");
    setDefault("solr.install.dir", home.toString());
    setDefault("solr.solr.home", home.toString());
    setDefault("host", HOST);
    setDefault("jetty.host", HOST);
    setDefault("jetty.port", Integer.toString(port));
    setDefault("hostContext", CONTEXT);
    // Standalone node, no security.json, no ZooKeeper. Remote streaming / stream.body are off in
    // solrconfig.xml; the Config API may not edit the generated config (it is rewritten anyway).
    setDefault("disable.configEdit", "true");
    setDefault("solr.enableRemoteStreaming", "false");
    setDefault("solr.enableStreamBody", "false");
    // Jersey (Solr's v2 API) logs through java.util.logging; keep its startup chatter out.
    JUL_QUIET.setLevel(java.util.logging.Level.SEVERE);

    System.exit(Runner.run(home, port, logDir));
  }

  /** Everything that touches Solr classes lives here so they load after the properties above. */
  static final class Runner {
    static int run(Path home, int port, Path logDir) {
      org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MelSolr.class);
      long t0 = System.nanoTime();
      final org.apache.solr.embedded.JettySolrRunner jetty;
      try {
        org.apache.solr.embedded.JettyConfig cfg =
            org.apache.solr.embedded.JettyConfig.builder()
                .setPort(port)
                .setContext(CONTEXT)
                .stopAtShutdown(false) // our own hook stops it (then flushes the logs)
                .withPortRetryTime(0) // fail at once if the port is busy, do not retry for 60 s
                .waitForLoadingCoresToFinish(300_000L)
                .build();
        Properties nodeProps = new Properties();
        jetty = new org.apache.solr.embedded.JettySolrRunner(home.toString(), nodeProps, cfg);
      } catch (Throwable e) {
        return fail(log, "cannot create the Jetty/Solr runner", e, 4);
      }

      CountDownLatch stopped = new CountDownLatch(1);
      Thread hook =
          new Thread(
              () -> {
                try {
                  log.info("mel-solr: stopping Solr");
                  jetty.stop();
                } catch (Throwable e) {
                  log.warn("mel-solr: error while stopping", e);
                } finally {
                  stopped.countDown();
                  org.apache.solr.util.StartupLoggingUtils.shutdown();
                }
              },
              "mel-solr-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);

      try {
        jetty.start();
      } catch (Throwable e) {
        if (hasCause(e, BindException.class)) {
          System.err.println(
              "mel-solr: port " + port + " on " + HOST + " is already in use; set MEL_SOLR_PORT");
          return stopAnd(jetty, 3);
        }
        fail(log, "Jetty/Solr failed to start", e, 4);
        return stopAnd(jetty, 4);
      }

      // start() can return normally while the core failed to load: check it ourselves.
      String problem = checkCore(jetty);
      if (problem != null) {
        System.err.println("mel-solr: core '" + CORE + "' did not load: " + problem);
        System.err.println("mel-solr: see " + logDir.resolve("solr.log"));
        log.error("mel-solr: core '{}' did not load: {}", CORE, problem);
        return stopAnd(jetty, 4);
      }

      long ms = (System.nanoTime() - t0) / 1_000_000;
      String url = "http://" + HOST + ":" + port + CONTEXT + "/" + CORE;
      log.info("mel-solr: ready at {} ({} ms)", url, ms);
      System.out.println(
          "mel-solr: Solr "
              + org.apache.solr.client.api.util.SolrVersion.LATEST_STRING
              + " ready at "
              + url
              + " (home "
              + home
              + ", logs "
              + logDir
              + ", "
              + ms
              + " ms)");
      System.out.flush();

      try {
        stopped.await(); // block forever; the shutdown hook (SIGTERM/SIGINT) releases us
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return 0;
    }

    /** Returns null when core {@code ckan} is loaded, else a description of the failure. */
    static String checkCore(org.apache.solr.embedded.JettySolrRunner jetty) {
      org.apache.solr.core.CoreContainer cc = jetty.getCoreContainer();
      if (cc == null) {
        return "Solr's CoreContainer is not available (SolrDispatchFilter failed to initialise)";
      }
      Map<String, org.apache.solr.core.CoreContainer.CoreLoadFailure> failures =
          cc.getCoreInitFailures();
      if (failures.containsKey(CORE)) {
        return describe(failures.get(CORE).exception);
      }
      if (!failures.isEmpty()) {
        StringBuilder sb = new StringBuilder("other core(s) failed: ");
        failures.forEach((k, v) -> sb.append(k).append(": ").append(describe(v.exception)));
        return sb.toString();
      }
      try (org.apache.solr.core.SolrCore core = cc.getCore(CORE)) {
        if (core == null) {
          return "no such core; loaded cores: " + cc.getLoadedCoreNames();
        }
        // Touch the schema and the searcher: the spatial field type must be usable.
        core.getLatestSchema().getField("spatial_shape");
        core.withSearcher(s -> s.getIndexReader().numDocs());
      } catch (Throwable e) {
        return describe(e);
      }
      return null;
    }

    static int stopAnd(org.apache.solr.embedded.JettySolrRunner jetty, int code) {
      try {
        jetty.stop();
      } catch (Throwable ignored) {
        // best effort
      }
      org.apache.solr.util.StartupLoggingUtils.shutdown();
      Runtime.getRuntime().halt(code); // skip the shutdown hook (already stopped)
      return code;
    }

    static int fail(org.slf4j.Logger log, String what, Throwable e, int code) {
      System.err.println("mel-solr: " + what + ": " + describe(e));
      StringWriter sw = new StringWriter();
      e.printStackTrace(new PrintWriter(sw));
      System.err.println(sw);
      log.error("mel-solr: {}", what, e);
      return code;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Solr home generation

  static void generateHome(Path home, Path ckanSchema) throws Exception {
    Path coreDir = home.resolve(CORE);
    Path conf = coreDir.resolve("conf");
    Files.createDirectories(home);
    Files.createDirectories(coreDir.resolve("data"));
    // conf/ is ours: rebuild it from scratch (no stale managed-schema etc.); keep data/.
    if (Files.isDirectory(conf)) {
      try (Stream<Path> s = Files.walk(conf)) {
        List<Path> all = new ArrayList<>(s.toList());
        java.util.Collections.reverse(all);
        for (Path p : all) Files.deleteIfExists(p);
      }
    }
    Files.createDirectories(conf);

    writeAtomically(home.resolve("solr.xml"), SOLR_XML);
    writeAtomically(
        coreDir.resolve("core.properties"),
        "# generated by mel-solr on each start; do not edit\n"
            + "name="
            + CORE
            + "\nconfig=solrconfig.xml\nschema=schema.xml\ndataDir=data\n");
    writeAtomically(conf.resolve("solrconfig.xml"), resource("solrconfig.xml"));
    String upstream = Files.readString(ckanSchema, StandardCharsets.UTF_8);
    writeAtomically(conf.resolve("schema.xml"), extendSchema(upstream));
    // Resources referenced by CKAN's analyzers (SynonymGraphFilter, SnowballPorterFilter).
    Path schemaDir = ckanSchema.getParent();
    for (String f : new String[] {"synonyms.txt", "protwords.txt", "stopwords.txt"}) {
      Path src = schemaDir.resolve(f);
      if (Files.isRegularFile(src)) {
        Files.copy(src, conf.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      } else {
        writeAtomically(conf.resolve(f), "# empty, generated by mel-solr\n");
      }
    }
  }

  /**
   * Field types/fields ckanext-spatial 2.3.2 needs, keyed by name. solr-bbox writes the float
   * fields minx/miny/maxx/maxy (bbox_area is listed by its docs; harmless) and queries them with
   * function queries ({!frange} + bf), so they must be numeric, not CKAN's catch-all "*" string
   * dynamic field; docValues makes the function queries cheap. solr-spatial-field writes WKT into
   * the field named by ckanext.spatial.solr_geom_field_name and queries it with
   * {!field f=...}Intersects(ENVELOPE(...)).
   *
   * <p>portal.ini names spatial_shape: an RptWithGeometrySpatialField, whose grid cells only
   * narrow the search and whose stored geometry decides it, so a map search finds exactly the
   * communes whose boundary meets its box. spatial_geom (ckanext-spatial's default name, a plain
   * RPT field: the cells are the shape, to within distErrPct) stays declared for indexes written
   * before, and for a configuration that keeps the default name. Measured on 6,000 datasets: a
   * commune's boundary cost Solr 38 ms per add in spatial_geom (distErrPct 0.05) against 27 in
   * spatial_shape (stock CKAN's dataset without a place: 22-27), and spatial_geom found whole
   * communes outside the box in 3 of 60 boxes. A field's type cannot change in an existing index
   * (Lucene refuses the new doc values), hence a new name rather than a new type.
   */
  static final Map<String, String> EXTRA_TYPES = new LinkedHashMap<>();

  static final Map<String, String> EXTRA_FIELDS = new LinkedHashMap<>();

  static {
    EXTRA_TYPES.put(
        "location_rpt",
        "<fieldType name=\"location_rpt\" class=\"solr.SpatialRecursivePrefixTreeFieldType\"\n"
            + "        spatialContextFactory=\"JTS\"\n"
            + "        autoIndex=\"true\"\n"
            + "        validationRule=\"repairBuffer0\"\n"
            + "        distErrPct=\"0.05\"\n"
            + "        maxDistErr=\"0.001\"\n"
            + "        distanceUnits=\"degrees\" />");
    // distErrPct left at the type's default (0.15): the grid is only a first filter.
    EXTRA_TYPES.put(
        "location_shape",
        "<fieldType name=\"location_shape\" class=\"solr.RptWithGeometrySpatialField\"\n"
            + "        spatialContextFactory=\"JTS\"\n"
            + "        autoIndex=\"true\"\n"
            + "        validationRule=\"repairBuffer0\"\n"
            + "        maxDistErr=\"0.001\"\n"
            + "        distanceUnits=\"degrees\" />");
    for (String f : new String[] {"bbox_area", "maxx", "maxy", "minx", "miny"}) {
      EXTRA_FIELDS.put(
          f,
          "<field name=\""
              + f
              + "\" type=\"float\" indexed=\"true\" stored=\"true\" docValues=\"true\" />");
    }
    EXTRA_FIELDS.put(
        "spatial_geom",
        "<field name=\"spatial_geom\" type=\"location_rpt\" indexed=\"true\" stored=\"true\""
            + " multiValued=\"true\" />");
    EXTRA_FIELDS.put(
        "spatial_shape",
        "<field name=\"spatial_shape\" type=\"location_shape\" indexed=\"true\" stored=\"true\" />");
  }

  /**
   * Returns CKAN's schema with the ckanext-spatial additions inserted (only those not already
   * declared), as text so the upstream file's comments and layout are kept.
   */
  static String extendSchema(String schemaXml) throws Exception {
    DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
    dbf.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
    dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    dbf.setExpandEntityReferences(false);
    Document doc =
        dbf.newDocumentBuilder()
            .parse(new java.io.ByteArrayInputStream(schemaXml.getBytes(StandardCharsets.UTF_8)));
    Set<String> types = new HashSet<>();
    names(doc, "fieldType", types);
    names(doc, "fieldtype", types);
    Set<String> fields = new HashSet<>();
    names(doc, "field", fields);
    if (!types.contains("float")) {
      throw new IllegalStateException("CKAN schema has no 'float' field type");
    }

    StringBuilder addTypes = new StringBuilder();
    EXTRA_TYPES.forEach(
        (name, xml) -> {
          if (!types.contains(name)) addTypes.append("    ").append(xml).append('\n');
        });
    StringBuilder addFields = new StringBuilder();
    EXTRA_FIELDS.forEach(
        (name, xml) -> {
          if (!fields.contains(name)) addFields.append("    ").append(xml).append('\n');
        });

    String out = schemaXml;
    String marker = "\n    <!-- added by mel-solr for ckanext-spatial -->\n";
    if (addTypes.length() > 0) {
      out = insertBefore(out, "</types>", marker + addTypes);
    }
    if (addFields.length() > 0) {
      out = insertBefore(out, "</fields>", marker + addFields);
    }
    return out;
  }

  /** Inserts text before the last {@code closeTag}, or before {@code </schema>} if absent. */
  static String insertBefore(String xml, String closeTag, String text) {
    int i = xml.lastIndexOf(closeTag);
    if (i < 0) i = xml.lastIndexOf("</schema>");
    if (i < 0) throw new IllegalStateException("not a Solr schema (no </schema>)");
    return xml.substring(0, i) + text + xml.substring(i);
  }

  static void names(Document doc, String tag, Set<String> into) {
    NodeList nl = doc.getElementsByTagName(tag);
    for (int i = 0; i < nl.getLength(); i++) {
      String n = ((Element) nl.item(i)).getAttribute("name");
      if (!n.isEmpty()) into.add(n);
    }
  }

  static final String SOLR_XML =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"
          + "<!-- generated by mel-solr on each start; do not edit -->\n"
          + "<solr>\n"
          + "  <int name=\"maxBooleanClauses\">${solr.max.booleanClauses:1024}</int>\n"
          + "  <str name=\"sharedLib\">${solr.sharedLib:}</str>\n"
          + "  <str name=\"allowPaths\">${solr.allowPaths:}</str>\n"
          + "  <str name=\"coreRootDirectory\">${coreRootDirectory:}</str>\n"
          + "  <shardHandlerFactory name=\"shardHandlerFactory\" class=\"HttpShardHandlerFactory\">\n"
          + "    <int name=\"socketTimeout\">${socketTimeout:600000}</int>\n"
          + "    <int name=\"connTimeout\">${connTimeout:60000}</int>\n"
          + "  </shardHandlerFactory>\n"
          + "</solr>\n";

  // ---------------------------------------------------------------------------------------------
  // helpers

  static String resource(String name) throws IOException {
    try (InputStream in = MelSolr.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) throw new IOException("classpath resource missing: " + name);
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static void writeAtomically(Path target, String content) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  static boolean portFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(HOST, port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) return true;
    }
    return false;
  }

  static String describe(Throwable e) {
    if (e == null) return "(no exception)";
    StringBuilder sb = new StringBuilder();
    Set<Throwable> seen = new HashSet<>();
    for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
      if (sb.length() > 0) sb.append(" <- caused by: ");
      sb.append(t.getClass().getName()).append(": ").append(t.getMessage());
    }
    return sb.toString();
  }

  static void setDefault(String key, String value) {
    if (System.getProperty(key) == null) System.setProperty(key, value);
  }

  static String opt(Map<String, String> opts, String name, String sysProp, String dflt) {
    String v = opts.get(name);
    if (v == null) v = System.getProperty(sysProp);
    return v == null ? dflt : v;
  }

  static Map<String, String> parseArgs(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("-h") || a.equals("--help")) {
        m.put("help", "");
        continue;
      }
      if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument: " + a);
      String key = a.substring(2);
      String val;
      int eq = key.indexOf('=');
      if (eq >= 0) {
        val = key.substring(eq + 1);
        key = key.substring(0, eq);
      } else {
        if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + a);
        val = args[++i];
      }
      if (!key.equals("home") && !key.equals("port") && !key.equals("schema")) {
        throw new IllegalArgumentException("unknown option: --" + key);
      }
      m.put(key, val);
    }
    return m;
  }

  static String usage() {
    return "usage: java -jar mel-solr.jar --home DIR [--port 8983] --schema CKAN_schema.xml\n"
        + "  (or -Dmel.solr.home= -Dmel.solr.port= -Dmel.solr.schema=; -Dsolr.log.dir= for logs)";
  }
}
