"""Street, square and building names, French style, handed out in a seeded order."""

from __future__ import annotations

import random


def name_list(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


PEOPLE = name_list(
    """
    Victor Hugo, Jean Jaurès, Jules Ferry, Pasteur, Émile Zola, Voltaire, Gambetta, Jean Moulin,
    Marie Curie, Anatole France, Gustave Eiffel, Jean-Philippe Rameau, Buffon, Bossuet,
    Lamartine, Colette, George Sand, Molière, Racine, Montesquieu, Rabelais, Diderot, Condorcet,
    Lavoisier, Paul Bert, Henri Vincenot, Gaston Roupnel, Sadi Carnot, Clemenceau,
    Charles de Gaulle, Maréchal Leclerc, Pierre Curie, Louis Blériot, Jean Monnet, Simone Veil,
    Lucie Aubrac, Olympe de Gouges, Louise Michel, Camille Claudel, Hector Berlioz,
    Claude Debussy, Maurice Ravel, Paul Verlaine, Arthur Rimbaud, Charles Baudelaire,
    Alphonse Daudet, Guy de Maupassant, Jean de La Fontaine, Frédéric Mistral, Albert Camus,
    Antoine de Saint-Exupéry, Roland Garros, Pierre de Coubertin, Nicéphore Niépce,
    Claude Bernard, André-Marie Ampère, Édouard Branly, Édouard Herriot, François Rude,
    Henri Barbusse, Romain Rolland, Paul Éluard, Louis Aragon, Jacques Prévert, Marcel Pagnol,
    Stendhal, Gustave Flaubert, Honoré de Balzac, Chateaubriand, Alfred de Musset,
    Charles Péguy, Jean Giono, Colbert, Vauban, Sully, Turgot, Jean Mermoz, Hélène Boucher,
    Louis Braille, René Cassin, Abbé Pierre, Martin Luther King, Nelson Mandela, Auguste Renoir,
    Claude Monet, Paul Cézanne, Berthe Morisot, Rosa Bonheur, Gustave Courbet, Eugène Delacroix,
    Jean Zay, Pierre Mendès France, Léon Blum, Aristide Briand, Jean Macé, Ferdinand Buisson,
    Marcelin Berthelot, Henri Poincaré, Évariste Galois, Sophie Germain, Blaise Pascal,
    René Descartes, Denis Papin, Joseph Fourier, Gaspard Monge, Lazare Carnot, Jules Verne,
    Alexandre Dumas, Pierre Loti, Paul Valéry, Saint-Just, Mirabeau, La Fayette, Jeanne d'Arc,
    Hoche, Kléber, Marceau, Carnot, Jean Bart, Surcouf, Champollion, Daguerre, Foucault,
    Arago, Gay-Lussac, Laplace, Lagrange, Cauchy, Fermat, Charles Fourier, Proudhon,
    Jules Michelet, Ernest Renan, Anatole de Monzie, Georges Brassens, Édith Piaf,
    Joséphine Baker, Germaine Tillion, Geneviève de Gaulle, Pierre Brossolette, Jean Bouhey,
    Félix Kir, Robert Poujade, Gaston Gérard, Henri Dunant, Albert Schweitzer, Louis Lumière,
    Auguste Lumière, Paul Langevin, Irène Joliot-Curie, Frédéric Joliot-Curie, Émilie du Châtelet,
    Madame de Sévigné, Marguerite Yourcenar, Simone de Beauvoir, Aimé Césaire,
    Léopold Sédar Senghor, Victor Schœlcher, Toussaint Louverture, Alexandre Yersin,
    Jacques Cartier, Samuel de Champlain, Bougainville, La Pérouse, Dumont d'Urville,
    Paul-Émile Victor, Jacques-Yves Cousteau, Haroun Tazieff, Théodore Monod, Jean Rostand,
    Louis de Broglie, Pierre-Gilles de Gennes, Georges Charpak, Jean Perrin, Marcel Proust,
    Boris Vian, Raymond Queneau, Jean Cocteau, Guillaume Apollinaire, Saint-Saëns, Gounod,
    Bizet, Offenbach, Lully, Couperin, Fauré, Satie, Poulenc, Messiaen
    """
)
THEMES = name_list(
    """
    des Lilas, des Tilleuls, des Vignes, du Moulin, de la Fontaine, des Écoles, de l'Église,
    du Stade, des Prés, des Champs, du Lavoir, de la Gare, du Château, des Cerisiers,
    des Acacias, des Peupliers, des Rosiers, des Jardins, du Parc, de la Combe, des Roches,
    du Bief, de la Tille, de l'Ouche, des Perrières, des Grands Champs, du Clos, des Noyers,
    des Chênes, des Charmes, du Puits, de la Croix, des Vergers, des Saules, des Glycines,
    des Mésanges, des Alouettes, des Hirondelles, du Paradis, de la Paix, de la Liberté,
    de la République, du 8 Mai 1945, du 11 Novembre, du 14 Juillet, des Frères Lumière,
    des Cassissiers, des Pinots, du Canal, de la Prairie, des Coteaux, du Bois, de la Forêt,
    des Sources, du Mont, de Bourgogne, de la Côte, des Marronniers, des Platanes, des Érables,
    des Bouleaux, des Aubépines, des Violettes, des Coquelicots, des Genêts, de la Source,
    du Pressoir, des Murgers, des Longènes, du Cellier, de la Corvée, des Essarts, du Fort,
    de la Citadelle, des Tanneries, des Artisans, du Commerce, de l'Industrie, des Sports,
    de l'Abreuvoir, des Tonneliers, des Vignerons, des Tanneurs, des Meuniers, des Charrons,
    des Forgerons, des Tisserands, des Maraîchers, des Jardiniers, des Vendangeurs,
    de Beaune, de Langres, d'Auxonne, de Gray, de Besançon, de Nuits, de Seurre, de Mirebeau,
    d'Is-sur-Tille, de Genlis, de Montbard, de Semur, de Saulieu, d'Arnay, de Vitteaux,
    de la Saône, de la Vingeanne, du Suzon, de la Norges, de l'Armançon, du Morvan,
    de l'Auxois, de la Montagne, du Plateau, de la Vallée, du Vallon, de la Plaine, du Val,
    des Hautes Terres, des Basses Terres, des Longs Prés, des Grandes Vignes, des Petits Champs,
    du Grand Pré, du Petit Bois, des Bruyères, des Fougères, des Noisetiers, des Pommiers,
    des Poiriers, des Pruniers, des Amandiers, des Mûriers, des Sureaux, des Frênes, des Ormes,
    des Trembles, des Aulnes, des Hêtres, des Sapins, des Mélèzes, des Cèdres, des Iris,
    des Jonquilles, des Primevères, des Pervenches, des Myosotis, des Bleuets, des Marguerites,
    des Tulipes, des Lavandes, des Roseaux, des Fauvettes, des Rossignols, des Pinsons,
    des Merles, des Loriots, des Bergeronnettes, des Chardonnerets, des Tourterelles,
    de la Chapelle, du Prieuré, de l'Abbaye, du Cloître, des Remparts, de la Porte,
    du Pont, de la Passerelle, de l'Écluse, du Port, du Quai, de la Halle, du Marché,
    de la Poste, de la Mairie, du Presbytère, du Cimetière, de la Ferme, du Domaine,
    de la Grange, des Granges, du Colombier, de la Tuilerie, de la Briqueterie, des Carrières,
    des Fontaines, du Lavoir Neuf, de la Vieille Route, du Chemin Vert, de l'Étang, des Mares
    """
)
RADIAL_NAMES = name_list(
    """
    Avenue Jean Jaurès, Avenue Victor Hugo, Boulevard de Strasbourg, Avenue du Drapeau,
    Boulevard Gabriel, Avenue Aristide Briand, Boulevard de la Marne, Avenue Foch,
    Avenue de Stalingrad, Boulevard Voltaire, Avenue du Général Leclerc, Avenue de la Concorde
    """
)
RING_NAMES = name_list(
    """
    Boulevard Carnot, Boulevard de Sévigné, Boulevard Thiers, Boulevard de Brosses,
    Boulevard de la Trémouille, Boulevard Clemenceau, Boulevard de Champagne
    """
)
SUFFIXES = ("", " prolongée", " nord", " sud", " est", " ouest")


def of_name(name: str) -> str:
    """French elision: "de Dijon" but "d'Ahuy", "d'Ouges"."""
    return f"d'{name}" if name[:1].upper() in "AEIOUYÉÈÊ" else f"de {name}"


class StreetNamer:
    """Hands out street names for one commune, never the same one twice, in a seeded order."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._bodies = [*PEOPLE, *THEMES]
        rng.shuffle(self._bodies)
        self._next = 0
        self._used: set[str] = set()

    def body(self) -> str:
        """The next name to honour; once all are used, they come back as "… prolongée" etc."""
        cycle, index = divmod(self._next, len(self._bodies))
        self._next += 1
        suffix = SUFFIXES[cycle % len(SUFFIXES)]
        extra = f" {cycle // len(SUFFIXES) + 1}" if cycle >= len(SUFFIXES) else ""
        return f"{self._bodies[index]}{suffix}{extra}"

    def street(self, *, outer: bool) -> tuple[str, str]:
        """A fresh street name and its body: chemins on the fringe, mostly rues in town."""
        if outer:
            kind = self._rng.choices(("Chemin", "Rue", "Route"), (5, 4, 1))[0]
        else:
            kind = self._rng.choices(("Rue", "Allée", "Avenue"), (14, 3, 2))[0]
        while True:
            body = self.body()
            name = f"{kind} {body}"
            if name not in self._used:
                self._used.add(name)
                return name, body
