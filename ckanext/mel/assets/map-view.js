/* The mel_map resource view: the rows of a loaded table as points (Leaflet, vendored). */
this.ckan.module("mel-map", function ($) {
  "use strict";
  return {
    initialize: function () {
      var el = this.el[0];
      var data = el.dataset;
      var status = document.querySelector(".mel-map-status");
      var say = function (text) { if (status) { status.textContent = text; } };
      var map = L.map(el, { preferCanvas: false }).setView([50.63, 3.06], 11);
      if (data.tilesUrl) {
        L.tileLayer(data.tilesUrl, { maxZoom: 19, attribution: data.tilesAttribution }).addTo(map);
      }
      say(data.loading);
      fetch(data.geojsonUrl, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (collection) {
          var placed = collection.features.filter(function (f) { return f.geometry; });
          var layer = L.geoJSON({ type: "FeatureCollection", features: placed }, {
            pointToLayer: function (feature, latlng) {
              return L.circleMarker(latlng, {
                radius: 6, weight: 1, color: "#ffffff", fillColor: "#c8102e", fillOpacity: 0.85,
                className: "mel-map-point"
              });
            },
            onEachFeature: function (feature, marker) {
              var table = document.createElement("table");
              Object.keys(feature.properties).forEach(function (key) {
                var value = feature.properties[key];
                if (value === null || value === "") { return; }
                var row = table.insertRow();
                var name = document.createElement("th");
                name.textContent = key;
                row.appendChild(name);
                row.insertCell().textContent = String(value);
              });
              marker.bindPopup(table, { maxWidth: 400 });
            }
          }).addTo(map);
          el.setAttribute("data-points", String(placed.length));
          if (placed.length) {
            map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 16 });
            say(data.count.replace("{count}", placed.length));
          } else {
            say(data.none);
          }
        })
        .catch(function () { el.setAttribute("data-points", "error"); say(data.failed); });
    }
  };
});
