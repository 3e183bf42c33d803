/* Sorts a table by a column when its header is activated, with the mouse or
 * the keyboard. Each header gets a button; the sorted one gets aria-sort, and
 * a polite live region says what happened. Sorting never leaves the page: the
 * table's filters are the server's.
 *
 * A cell sorts by its data-sort-value, else its text. A header with
 * data-sort-type="number" sorts numerically; empty cells go last either way.
 *
 *   <table data-module="mel-sortable-table"
 *          data-module-ascending="ascending" data-module-descending="descending"
 *          data-module-announcement="Sorted by {column}, {direction}.">
 */
this.ckan.module('mel-sortable-table', function ($) {
  return {
    options: {
      ascending: 'ascending',
      descending: 'descending',
      announcement: 'Sorted by {column}, {direction}.'
    },

    initialize: function () {
      var module = this;
      var lang = document.documentElement.lang || undefined;
      this.collator = new Intl.Collator(lang, {numeric: true, sensitivity: 'base'});
      this.live = $('<p class="visually-hidden mel-sort-status" aria-live="polite"></p>');
      this.el.after(this.live);
      this.el.find('thead th').each(function (index) {
        var header = $(this);
        var button = $('<button type="button" class="mel-sort-button"></button>');
        button.append(header.contents());
        button.append('<span class="mel-sort-icon" aria-hidden="true"></span>');
        header.append(button);
        button.on('click', function () { module.sort(header, index); });
      });
    },

    key: function (row, index, numeric) {
      var cell = row.cells[index];
      var raw = cell.hasAttribute('data-sort-value') ? cell.getAttribute('data-sort-value') : cell.textContent;
      raw = raw.trim();
      if (raw === '') { return null; }
      return numeric ? parseFloat(raw) : raw;
    },

    sort: function (header, index) {
      var module = this;
      var direction = header.attr('aria-sort') === 'ascending' ? 'descending' : 'ascending';
      var sign = direction === 'ascending' ? 1 : -1;
      var numeric = header.data('sortType') === 'number';
      var body = this.el.children('tbody').get(0);
      var rows = Array.prototype.map.call(body.rows, function (row, position) {
        return {row: row, key: module.key(row, index, numeric), position: position};
      });
      rows.sort(function (a, b) {
        if (a.key === null || b.key === null) {
          return (a.key === null) - (b.key === null) || a.position - b.position;
        }
        var order = numeric ? a.key - b.key : module.collator.compare(a.key, b.key);
        return order * sign || a.position - b.position;
      });
      rows.forEach(function (item) { body.appendChild(item.row); });
      this.el.find('thead th').removeAttr('aria-sort');
      header.attr('aria-sort', direction);
      this.live.text(this.options.announcement
        .replace('{column}', header.find('.mel-sort-button').text().trim())
        .replace('{direction}', this.options[direction]));
    }
  };
});
